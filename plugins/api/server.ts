/**
 * Builds the fastify instance of the HTTP API (no socket: the plugin listens,
 * tests use `inject()`). Everything that is not a route's happy path ends in
 * one error handler that answers `{ error, code, field? }` JSON.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Clock } from '../../src/clock.js';
import { SkyError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { Registry } from '../../src/registry/types.js';
import { secretChecker } from '../../src/http/secret.js';
import { callbackRoutes } from './callback-routes.js';
import { toHttpError, writeClientError, type ErrorBody } from './http-errors.js';
import { serviceRoutes } from './service-routes.js';
import { watchRoutes } from './watch-routes.js';
import type { WatchOptions } from '../../src/registry/watch/endpoint.js';
import { writeLimit, type WriteLimitOptions } from './write-limit.js';

export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface ApiServerOptions {
  registry: Registry;
  clock: Clock;
  logger: Logger;
  /** Shared secret every request must present (Authorization header). */
  secret?: string;
  /** Largest request body in bytes (413 above it). */
  bodyLimit?: number;
  /** CIDRs a callback's Reply address must fall in (any address when absent). */
  allowNetworks?: string[];
  /** Longest a request may take to arrive in full, ms (slow clients are cut off). */
  requestTimeoutMs?: number;
  /** Serve HTTPS with this certificate (chain) and key, PEM. */
  tls?: { cert: Buffer; key: Buffer };
  /** Largest request line plus headers, bytes (431 above it; node's default when absent). */
  maxHeaderSize?: number;
  /** Per-client limit on PUT and PATCH (429 with Retry-After past it); none when absent. */
  writeLimit?: WriteLimitOptions;
  /** The watch API's limits (GET /skydns/watch). */
  watch?: Omit<WatchOptions, 'clock'>;
}

export async function buildApi(o: ApiServerOptions): Promise<FastifyInstance> {
  const bodyLimit = o.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const head = o.maxHeaderSize === undefined ? {} : { maxHeaderSize: o.maxHeaderSize };
  // With TLS fastify builds an https server (typed differently); the routes and hooks are the same.
  const server = o.tls ? { https: { cert: o.tls.cert, key: o.tls.key, ...head } } : { http: head };
  const app = Fastify({
    ...(server as { http: typeof head }),
    logger: false,
    bodyLimit,
    // A UUID over 63 bytes must reach the registry to be refused with a 400, not a 404.
    routerOptions: { maxParamLength: 2048 },
    requestTimeout: o.requestTimeoutMs ?? 30_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // No coercion ("80" is not a port) and no silent removal of unknown fields: both are 400s.
    // allErrors: one 400 lists every field that is wrong, not the first only.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true } },
    // Requests the router or node's parser refuse get the same JSON errors as the rest.
    frameworkErrors: (err, _req, reply) => {
      const h = toHttpError(err, bodyLimit);
      return (reply as FastifyReply).code(h.status).send(h.body);
    },
    clientErrorHandler: writeClientError,
  });

  // SkyDNS 1 read any body as JSON; `curl -d` sends form-urlencoded, so that, text/plain
  // and a body without Content-Type are read as JSON too. Other media types: 415.
  // An empty body is no body, whatever the Content-Type (many HTTP libraries send
  // `application/json` on every request, DELETE and GET included): the route decides
  // whether it needs one (PUT does: "the body must be a JSON object").
  const strict = app.getDefaultJsonParser('error', 'error');
  const json: typeof strict = (req, body, done) => (body.length === 0 ? done(null, undefined) : strict(req, body, done));
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded', 'text/plain'], { parseAs: 'string' }, json);
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    const type = req.headers['content-type'];
    if (type === undefined || type === '') return json(req, body.toString(), done);
    done(new SkyError('SKY_ERR_API_MEDIA_TYPE', `the body must be JSON (Content-Type: application/json), not ${type}`), undefined);
  });

  const authorized = secretChecker(o.secret);
  app.addHook('onRequest', async (req) => {
    if (!authorized(req.headers.authorization)) {
      const why = req.headers.authorization === undefined ? 'missing Authorization header' : 'the Authorization header does not carry the secret';
      throw new SkyError('SKY_ERR_API_UNAUTHORIZED', `${why}: send "Authorization: <secret>" or "Authorization: Bearer <secret>"`);
    }
  });

  if (o.writeLimit) writeLimit(app, o.writeLimit, o.clock);

  app.setErrorHandler((err, req, reply) => {
    const h = toHttpError(err, bodyLimit);
    if (h.internal) o.logger.error({ err, method: req.method, url: req.url }, 'api request failed');
    else o.logger.debug({ method: req.method, url: req.url, status: h.status, code: h.body.code }, h.body.error);
    if (h.status === 401) reply.header('www-authenticate', 'Bearer realm="skydns"');
    if (h.status === 503) reply.header('retry-after', '1');
    if (h.status === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    return reply.code(h.status).send(h.body);
  });

  app.setNotFoundHandler((req, reply) => {
    const body: ErrorBody = { error: `no route for ${req.method} ${req.url.split('?')[0]}`, code: 'SKY_ERR_API_ROUTE' };
    return reply.code(404).send(body);
  });

  serviceRoutes(app, { registry: o.registry, clock: o.clock });
  callbackRoutes(app, { registry: o.registry, allowNetworks: o.allowNetworks });
  watchRoutes(app, o.registry, { clock: o.clock, ...o.watch });
  await app.ready();
  return app;
}
