/**
 * The callback routes (SkyDNS 1):
 *
 *   PUT    /skydns/callbacks/{uuid}   register or replace   201 (new) | 200 (replaced) | 400 | 403
 *   DELETE /skydns/callbacks/{uuid}   remove                200 | 404
 *
 * When a service matching the callback goes away (DELETE or expiry) the
 * CallbackNotifier sends `DELETE http://{Reply}:{Port}/skydns/callbacks/{uuid}`
 * with the service as body. With `allowNetworks` set, Reply must be an IP
 * address inside one of them: the API would otherwise let anyone who may
 * register make the server send requests anywhere.
 */
import type { FastifyInstance } from 'fastify';
import { isIP } from 'node:net';
import { SkyError, isSkyError } from '../../src/errors.js';
import { checkReplyAllowed } from '../../src/registry/callbacks.js';
import { uuidKey, validateCallback } from '../../src/registry/names.js';
import type { Callback, Registry } from '../../src/registry/types.js';
import { bodyProblems } from './body-problems.js';
import { CALLBACK_FIELDS, uuidOf, callbackBody, callbackJSON, canonicalKeys, errorResponses, uuidParams } from './schemas.js';

type CallbackBody = Partial<Callback>;

/** 403 for an address outside the allowed networks; 400 for a hostname where an address is required. */
export function checkReply(reply: string, allowNetworks: string[] | undefined): void {
  try {
    checkReplyAllowed(reply, allowNetworks);
  } catch (e) {
    if (isSkyError(e) && isIP(reply) !== 0) throw new SkyError('SKY_ERR_API_FORBIDDEN', e.message, { path: 'Reply' });
    throw e;
  }
}

export function callbackRoutes(app: FastifyInstance, deps: { registry: Registry; allowNetworks?: string[] }): void {
  const { registry, allowNetworks } = deps;
  const one = { params: uuidParams, response: { 200: callbackJSON, 201: callbackJSON, ...errorResponses } };

  app.put<{ Params: { uuid: string }; Body: CallbackBody }>('/skydns/callbacks/:uuid', {
    schema: { ...one, body: callbackBody },
    preValidation: async (req) => canonicalKeys(req.body, CALLBACK_FIELDS),
    attachValidation: true,
  }, async (req, reply) => {
    const { uuid } = req.params;
    if (req.validationError) throw bodyProblems(req.validationError, req.body, (o) => validateCallback({ ...o, UUID: uuidOf(o.UUID as string | undefined, uuid) }));
    const body = req.body;
    const input = validateCallback({ ...body, UUID: uuidOf(body.UUID, uuid) });
    checkReply(input.Reply, allowNetworks);
    const existed = registry.callbacks().some((c) => uuidKey(c.UUID) === uuidKey(uuid));
    const cb = await registry.putCallback(input);
    reply.code(existed ? 200 : 201).header('location', `/skydns/callbacks/${encodeURIComponent(cb.UUID)}`);
    return cb;
  });

  app.delete<{ Params: { uuid: string } }>('/skydns/callbacks/:uuid', { schema: one }, async (req) => registry.removeCallback(req.params.uuid));
}
