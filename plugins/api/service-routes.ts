/**
 * The service routes (SkyDNS 1 compatible):
 *
 *   PUT    /skydns/services/{uuid}        register              201 | 400 | 409
 *   PUT    /skydns/services/{uuid}?replace=true  register, taking over a live UUID  201 | 400
 *   PATCH  /skydns/services/{uuid}        heartbeat {"TTL": n}  200 | 400 | 404
 *   DELETE /skydns/services/{uuid}        deregister            200 | 404
 *   GET    /skydns/services/{uuid}        one service           200 | 404
 *   GET    /skydns/services/?query=patt   matching services     200 (maybe []) | 400
 *   GET    /skydns/regions/               {"East": 3, ...}      200
 *   GET    /skydns/environments/          {"Production": 5}     200
 *
 * Writes answer only once the registry's promise resolves, i.e. once the
 * change is durable. Responses carry the remaining TTL and the absolute expiry.
 */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../src/clock.js';
import { SkyError } from '../../src/errors.js';
import { validateService } from '../../src/registry/names.js';
import type { parsePattern } from '../../src/registry/pattern.js';
import { parseWatchPattern } from '../../src/registry/watch/endpoint.js';
import { toJSON, type Registry, type Service, type ServiceJSON, type StoredService } from '../../src/registry/types.js';
import { bodyProblems } from './body-problems.js';
import { checkHeartbeatBody, type HeartbeatBody } from './heartbeat-body.js';
import { canonicalKeys, countsJSON, uuidOf, errorResponses, heartbeatBody, putQuery, queryString, SERVICE_FIELDS, serviceBody, serviceJSON, uuidParams } from './schemas.js';

type ServiceBody = Omit<Service, 'UUID' | 'TTL'> & { UUID?: string; TTL?: number; Expires?: string };

export interface RouteDeps {
  /** The registry, once the plugin has started. */
  registry: Registry;
  clock: Clock;
}

/** Parses `?query=` (DNS-style, most specific label first): the watch endpoint's parser, so both routes take the same patterns. */
export function parseQuery(q: string | undefined): ReturnType<typeof parsePattern> {
  return parseWatchPattern(q);
}

function byUuid(a: StoredService, b: StoredService): number {
  return a.UUID < b.UUID ? -1 : a.UUID > b.UUID ? 1 : 0;
}

export function serviceRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, clock } = deps;
  const one = { params: uuidParams, response: { 200: serviceJSON, 201: serviceJSON, ...errorResponses } };
  const json = (s: StoredService): ServiceJSON => toJSON(s, clock.now());

  app.put<{ Params: { uuid: string }; Querystring: { replace?: 'true' | 'false' }; Body: ServiceBody }>('/skydns/services/:uuid', {
    schema: { ...one, querystring: putQuery, body: serviceBody },
    preValidation: async (req) => canonicalKeys(req.body, SERVICE_FIELDS),
    attachValidation: true,
  }, async (req, reply) => {
    const { uuid } = req.params;
    if (req.validationError) {
      // Shape and values in one 400. The TTL bounds are the registry's (not known here): any TTL passes this check.
      throw bodyProblems(req.validationError, req.body, (o) => validateService({ ...o, UUID: uuidOf(o.UUID as string | undefined, uuid) }, { ttlMin: 0, ttlMax: Number.MAX_SAFE_INTEGER, zone: '' }));
    }
    const { Expires: _readOnly, ...body } = req.body;
    const svc = { ...body, UUID: uuidOf(body.UUID, uuid) } as Service;
    const stored = await registry.put(svc, { replace: req.query.replace === 'true' });
    reply.code(201).header('location', `/skydns/services/${encodeURIComponent(stored.UUID)}`);
    return json(stored);
  });

  app.patch<{ Params: { uuid: string }; Body: HeartbeatBody }>('/skydns/services/:uuid', {
    schema: { ...one, body: heartbeatBody },
    preValidation: async (req) => {
      req.body ??= {}; // no body (or an empty one): the registered TTL
      canonicalKeys(req.body, SERVICE_FIELDS);
    },
  }, async (req) => {
    checkHeartbeatBody(req.body, req.params.uuid, registry.get(req.params.uuid));
    return json(await registry.refresh(req.params.uuid, req.body.TTL));
  });

  app.delete<{ Params: { uuid: string } }>('/skydns/services/:uuid', { schema: one }, async (req) => json(await registry.remove(req.params.uuid)));

  app.get<{ Params: { uuid: string } }>('/skydns/services/:uuid', { schema: one }, async (req) => {
    const s = registry.get(req.params.uuid);
    if (!s) throw new SkyError('SKY_ERR_REGISTRY_NOT_FOUND', `no live service with UUID ${req.params.uuid}`, { path: 'UUID' });
    return json(s);
  });

  const list = {
    schema: { querystring: queryString, response: { 200: { type: 'array', items: serviceJSON }, ...errorResponses } },
  };
  const listHandler = async (req: { query: { query?: string } }): Promise<ServiceJSON[]> =>
    registry.query(parseQuery(req.query.query)!).sort(byUuid).map(json);
  app.get<{ Querystring: { query?: string } }>('/skydns/services/', list, listHandler);
  app.get<{ Querystring: { query?: string } }>('/skydns/services', list, listHandler);

  const counts = { schema: { response: { 200: countsJSON, ...errorResponses } } };
  for (const [path, field] of [['regions', 'region'], ['environments', 'environment']] as const) {
    const h = async (): Promise<Record<string, number>> => registry.countBy(field);
    app.get(`/skydns/${path}/`, counts, h);
    app.get(`/skydns/${path}`, counts, h);
  }
}
