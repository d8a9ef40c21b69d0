/**
 * Per-client limit on writes: every PUT and PATCH takes a token from its
 * remote address's bucket (the socket's address: a forwarded-for header is
 * not trusted); an empty bucket is a 429 with Retry-After, before the body is
 * read. Reads and deletes are not limited. Buckets live in a bounded table.
 */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../src/clock.js';
import { SkyError } from '../../src/errors.js';
import { BucketTable } from '../../src/token-buckets.js';

export interface WriteLimitOptions {
  /** Writes a second one client may keep up. */
  perSecond: number;
  /** Writes a quiet client may send at once. */
  burst: number;
  /** Clients tracked at once (least recently seen forgotten first). */
  maxClients: number;
}

const WRITES = new Set(['PUT', 'PATCH']);

/** Retry-After, whole seconds (at least 1), for a wait of `ms`. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function writeLimit(app: FastifyInstance, o: WriteLimitOptions, clock: Clock): void {
  const buckets = new BucketTable(clock, o.perSecond, o.burst, o.maxClients);
  app.addHook('onRequest', async (req, reply) => {
    if (!WRITES.has(req.method)) return;
    const t = buckets.take(req.socket.remoteAddress ?? req.ip);
    if (t.ok) return;
    reply.header('retry-after', String(retryAfterSeconds(t.retryAfterMs)));
    throw new SkyError('SKY_ERR_API_RATE_LIMITED', `too many registrations from ${req.ip}: at most ${o.perSecond}/s (bursts of ${o.burst}); retry after ${retryAfterSeconds(t.retryAfterMs)} s`);
  });
}
