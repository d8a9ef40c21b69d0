/**
 * The watch routes (SkyDNS 2 addition; see src/registry/watch/):
 *
 *   GET /skydns/watch?query=PATTERN       Accept: text/event-stream   Server-Sent Events, resumable with Last-Event-ID
 *   GET /skydns/watch?query=PATTERN&index=CURSOR&wait=30s             blocking GET: JSON once something changed
 *
 * Both sit behind the same secret check as every other /skydns route (the
 * onRequest hook runs before them). The streams are ended before the server
 * closes (preClose), so a stop does not wait on them.
 */
import type { FastifyInstance } from 'fastify';
import { WatchEndpoint, type WatchOptions } from '../../src/registry/watch/endpoint.js';
import type { Registry } from '../../src/registry/types.js';

type Query = Record<string, string | undefined>;

const endpoints = new WeakMap<FastifyInstance, WatchEndpoint>();

/** The watch endpoint of a built API (tests count its watchers). */
export function watchOf(app: FastifyInstance): WatchEndpoint | undefined {
  return endpoints.get(app);
}

export function watchRoutes(app: FastifyInstance, registry: Registry, o: WatchOptions): WatchEndpoint {
  const watch = new WatchEndpoint(registry, o);
  endpoints.set(app, watch);
  app.addHook('preClose', async () => watch.close());
  const handler = async (req: { query: unknown; headers: Record<string, string | string[] | undefined>; raw: import('node:http').IncomingMessage }, reply: import('fastify').FastifyReply): Promise<unknown> => {
    const w = watch.parse(req.query as Query, req.headers);
    if (w.sse) {
      reply.hijack();
      watch.stream(w, req.raw, reply.raw);
      return reply;
    }
    const answer = await watch.poll(w, req.raw);
    reply.header('cache-control', 'no-store').header('x-skydns-index', answer.index);
    return answer;
  };
  app.get('/skydns/watch', handler);
  app.get('/skydns/watch/', handler);
  return watch;
}
