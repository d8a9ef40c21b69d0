/**
 * The cache handler. A hit is a copy of the stored wire with the client's ID,
 * RD bit and question spelling patched in and every TTL lowered by the whole
 * seconds since the entry was stored; it never calls `next`. A miss runs the
 * rest of the chain and stores what comes back when the rules in entry.ts
 * allow it.
 *
 * Replies that declare `depends` (the skydns zone) are dropped as soon as the
 * thing they depend on has changed, so a registry change is never hidden by
 * the cache, not even by serveStale.
 */
import { lru, type LRU } from 'tiny-lru';
import type { Clock } from '../../src/clock.js';
import { patchWire } from '../../src/dns/index.js';
import type { Logger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import type { Next, Plugin, Reply, Request } from '../../src/plugin.js';
import { isPromise } from '../../src/chain.js';
import { toMs } from '../../src/config/duration.js';
import { isFailure, makeEntry, type Entry, type RefreshOutcome } from './entry.js';
import { cacheMetrics, type CacheMetrics } from './metrics.js';
import type { CacheOptions } from './options.js';

/** RFC 8767 §4: TTL of a stale answer, and how long after a failed refresh stale answers are served without retrying. */
export const STALE_TTL = 30;
const FAILURE_RECHECK_MS = 30_000;

/**
 * The cache key (RFC 1035 §7.4 plus the DNSSEC bits): lowercased name (names
 * compare case-insensitively, RFC 4343), type, class, and the DO and CD bits,
 * since a DO=1 answer carries RRSIGs and a CD=1 answer may hold data a
 * validating upstream would have refused.
 */
export function cacheKey(req: Request): string {
  return `${req.name}\0${req.qtype}\0${req.qclass}\0${req.do ? 1 : 0}${req.cd ? 1 : 0}`;
}

export class Cache implements Plugin {
  readonly positive: LRU<Entry>;
  readonly denial: LRU<Entry>;
  readonly stats = { hits: 0, misses: 0, prefetches: 0, stale: 0, invalidated: 0 };
  private readonly prefetchWindowMs: number;
  private readonly maxStaleMs: number;
  private readonly clientTimeoutMs: number;
  private readonly m: CacheMetrics;

  constructor(private readonly o: CacheOptions, private readonly clock: Clock, private readonly logger: Logger, metrics: Metrics) {
    // tiny-lru's own TTL reads Date.now(); lifetimes are kept here instead, on the injected clock.
    this.positive = lru<Entry>(o.capacity);
    this.denial = lru<Entry>(o.denialCapacity);
    this.prefetchWindowMs = toMs(o.prefetch.duration);
    this.maxStaleMs = o.serveStale.enabled ? toMs(o.serveStale.maxStale) : 0;
    this.clientTimeoutMs = toMs(o.serveStale.clientTimeout);
    this.m = cacheMetrics(metrics, this);
  }

  async stop(): Promise<void> {
    this.m.release();
  }

  /** Synchronous on a hit (no promise on the hot path); a miss waits for the rest of the chain. */
  serveDNS(req: Request, next: Next): Reply | Promise<Reply> {
    const key = cacheKey(req);
    const e = this.positive.get(key) ?? this.denial.get(key);
    if (e) {
      const ageMs = this.clock.now() - e.storedAt;
      if (e.depends && e.depends.on.version !== e.depends.version) {
        this.stats.invalidated++;
        this.m.invalidated();
        this.remove(key);
      } else if (ageMs < e.ttl * 1000) {
        const out = patchWire(e.w, req.id, req.rd, req.raw, req.qnameEnd, Math.floor(ageMs / 1000));
        if (out) {
          this.stats.hits++;
          this.m.hit(e.kind);
          this.maybePrefetch(e, key, req, next, ageMs);
          return e.depends ? { wire: out, depends: e.depends } : { wire: out };
        }
      } else if (e.kind !== 'servfail' && ageMs < e.ttl * 1000 + this.maxStaleMs) {
        return this.serveExpired(e, key, req, next);
      } else {
        this.remove(key);
      }
    }
    this.stats.misses++;
    this.m.miss();
    const reply = next();
    return isPromise(reply) ? reply.then((r) => this.fresh(key, req, r)) : this.fresh(key, req, reply);
  }

  /**
   * Stores `reply` when the rules allow, and answers this client from the new
   * entry, so it sees the same (capped) TTLs the next client will.
   */
  private fresh(key: string, req: Request, reply: Reply): Reply {
    const e = this.store(key, req, reply);
    const out = e && patchWire(e.w, req.id, req.rd, req.raw, req.qnameEnd, 0);
    if (!out) return reply;
    const answer: Reply = { wire: out };
    if (reply.by !== undefined) answer.by = reply.by;
    if (e.depends) answer.depends = e.depends;
    return answer;
  }

  /** Entries held (fresh or not yet evicted), positive and negative. */
  get size(): number {
    return this.positive.size + this.denial.size;
  }

  private store(key: string, req: Request, reply: Reply): Entry | null {
    const e = makeEntry(req, reply, this.clock.now(), this.o);
    if (!e) return null;
    if (e.kind === 'positive') {
      this.positive.set(key, e);
      this.denial.delete(key);
    } else {
      this.denial.set(key, e);
      this.positive.delete(key);
    }
    return e;
  }

  private remove(key: string): void {
    this.positive.delete(key);
    this.denial.delete(key);
  }

  /**
   * CoreDNS-style prefetch: an entry hit `amount` times with no gap of
   * `duration` between hits is popular; once only `percentage` of its TTL is
   * left, one background refresh runs the rest of the chain again.
   */
  private maybePrefetch(e: Entry, key: string, req: Request, next: Next, ageMs: number): void {
    const p = this.o.prefetch;
    if (p.amount === 0) return;
    const now = e.storedAt + ageMs;
    if (now - e.lastHit >= this.prefetchWindowMs) e.hits = 0;
    e.hits++;
    e.lastHit = now;
    if (e.hits < p.amount || e.refreshing) return;
    const leftMs = e.ttl * 1000 - ageMs;
    if (leftMs * 100 > e.ttl * 1000 * p.percentage) return;
    this.stats.prefetches++;
    this.m.prefetch();
    void this.refresh(e, key, req, next);
  }

  /** Runs the rest of the chain again for `e`; stores a good reply, keeps `e` on failure. */
  private refresh(e: Entry, key: string, req: Request, next: Next): Promise<RefreshOutcome> {
    e.refreshing = (async (): Promise<RefreshOutcome> => {
      try {
        const reply = await next(req);
        if (isFailure(reply)) {
          e.failedAt = this.clock.now();
          return { failed: true };
        }
        return { failed: false, reply: this.fresh(key, req, reply) };
      } catch (err) {
        e.failedAt = this.clock.now();
        this.logger.debug({ err, name: req.qname, type: req.type }, 'cache refresh failed');
        return { failed: true };
      } finally {
        e.refreshing = null;
      }
    })();
    return e.refreshing;
  }

  /**
   * RFC 8767 serve-stale for an expired entry: refresh it, and answer with the
   * stale data (TTL 30) when the refresh fails or takes longer than
   * `clientTimeout`; the refresh goes on in the background and replaces the
   * entry when it succeeds. Within 30 s of a failed refresh the stale answer
   * is given at once without asking again (the failure recheck timer, §4).
   */
  private async serveExpired(e: Entry, key: string, req: Request, next: Next): Promise<Reply> {
    if (e.failedAt !== 0 && this.clock.now() - e.failedAt < FAILURE_RECHECK_MS) return this.stale(e, req);
    const mine = !e.refreshing;
    const refreshing = e.refreshing ?? this.refresh(e, key, req, next);
    let fire!: (v: 'timeout') => void;
    const timeout = new Promise<'timeout'>((resolve) => (fire = resolve));
    const timer = this.clock.setTimeout(() => fire('timeout'), this.clientTimeoutMs);
    const outcome = await Promise.race([refreshing, timeout]);
    timer.cancel();
    if (outcome === 'timeout' || outcome.failed) return this.stale(e, req);
    if (mine) return outcome.reply!;
    // Another client's refresh succeeded: answer from the entry it stored, patched for this client.
    return this.serveDNS(req, next);
  }

  private stale(e: Entry, req: Request): Reply {
    const out = patchWire(e.w, req.id, req.rd, req.raw, req.qnameEnd, 0)!;
    for (const o of e.w.ttlOffsets) out.writeUInt32BE(STALE_TTL, o);
    this.stats.stale++;
    this.m.stale();
    return { wire: out };
  }
}
