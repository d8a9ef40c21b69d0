/**
 * The forward handler: names in `from` (and not in `except`) are sent to an
 * upstream chosen by policy; a failed attempt moves on to the next upstream
 * until the overall deadline. Everything else goes to the next plugin.
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { isSubdomain, Rcode, trimDot } from '../../src/dns/index.js';
import type { Plugin, Reply, Request, SetupContext } from '../../src/plugin.js';
import { toMs } from '../../src/config/duration.js';
import { LoopDetector } from './loop.js';
import { buildUpstreamQuery, isTruncated, randomId, rcodeOf, toClientWire } from './message.js';
import { forwardMetrics, type ForwardMetrics } from './metrics.js';
import type { ForwardOptions } from './options.js';
import { Upstream } from './upstream.js';
import { UpstreamError } from './udp.js';
import { udpPathFor } from '../../src/server/udp/choose.js';
import type { UpstreamAddress } from './upstreams.js';

/** A first UDP try in flight that identical queries can share, under `key` in `Forwarder.pending`. */
interface Pending {
  readonly key: string;
  readonly up: Upstream;
  readonly reply: Promise<Buffer>;
}

/** The state of one query's tries. */
interface Tries {
  deadline: number;
  /** Every upstream was down when it began: down ones are tried anyway. */
  allDown: boolean;
  /** Upstreams that answered REFUSED (made on the first REFUSED: most queries never need it). */
  refusedBy: Set<Upstream> | null;
  /** The last REFUSED reply, for the client when no upstream does better. */
  refused: Buffer | null;
}

function zone(z: string): string {
  return trimDot(z.toLowerCase());
}

export class Forwarder implements Plugin {
  readonly upstreams: Upstream[];
  readonly loop: LoopDetector;
  /** Counters for tests and metrics. */
  readonly stats = { forwarded: 0, merged: 0, discarded: 0, refusedOverLimit: 0, servfailAllDown: 0, failedAttempts: 0 };
  private readonly from: string;
  private readonly except: string[];
  private readonly timeoutMs: number;
  private readonly tryTimeoutMs: number;
  private readonly abort = new AbortController();
  private inflight = 0;
  private rr = 0;
  private loopTask: Promise<void> | null = null;
  /**
   * First UDP tries in flight, by their upstream query without its ID: a
   * query identical to one of them waits for that reply instead of sending
   * its own (RFC 5452 §5).
   */
  private readonly pending = new Map<string, Pending>();
  private readonly m: ForwardMetrics;

  constructor(private readonly opts: ForwardOptions, addrs: readonly UpstreamAddress[], private readonly ctx: SetupContext) {
    // Every query in flight listens for the stop signal: no listener-count warning for that.
    setMaxListeners(0, this.abort.signal);
    this.from = zone(opts.from);
    this.except = opts.except.map(zone);
    this.timeoutMs = toMs(opts.timeout);
    this.tryTimeoutMs = Math.min(toMs(opts.tryTimeout), this.timeoutMs);
    const settings = {
      clock: ctx.clock,
      logger: ctx.logger,
      maxFails: opts.maxFails,
      // A down upstream is probed at most ten times a second, whatever is configured.
      healthCheckMs: Math.max(100, toMs(opts.healthCheck)),
      tryTimeoutMs: this.tryTimeoutMs,
      expireMs: toMs(opts.expire),
      forceTcp: opts.forceTcp,
      udpSockets: opts.udpSockets,
      socketMaxQueries: opts.socketMaxQueries,
      socketMaxAgeMs: toMs(opts.socketMaxAge),
      // A host that does not say (older than udpPath) gets what dns.udp "auto" (or SKYDNS_UDP) would give.
      udpPath: ctx.udpPath?.() ?? udpPathFor(undefined),
      signal: this.abort.signal,
      onProbeFailure: (to: string) => this.m.probeFailed(to),
      onDiscard: (why: string) => {
        this.stats.discarded++;
        this.m.discarded();
        ctx.logger.debug({ why }, 'discarded a reply that does not match its query');
      },
    };
    this.m = forwardMetrics(ctx.metrics, () => this.upstreams);
    this.upstreams = addrs.map((a) => new Upstream(a, settings));
    this.loop = new LoopDetector(this.upstreams, this.from, this.tryTimeoutMs, ctx.logger);
  }

  async start(): Promise<void> {
    this.loop.checkAddresses(this.ctx.listen);
  }

  /** Once our listeners are open: refuse upstreams that are our own addresses, then probe the rest. */
  listening(addresses: readonly string[]): void {
    this.loop.checkAddresses(addresses);
    this.loopTask = this.loop.probeAll();
  }

  /** Resolves once the start-time loop probe has finished (tests). */
  loopCheckDone(): Promise<void> {
    return this.loopTask ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.loop.stop();
    this.abort.abort();
    this.m.release();
    for (const u of this.upstreams) u.stop();
  }

  /** Ready while at least one upstream is not a loop back to this server. */
  ready(): boolean {
    return this.upstreams.some((u) => !u.loop);
  }

  serveDNS(req: Request, next: (r?: Request) => Promise<Reply>): Reply | Promise<Reply> {
    if (this.loop.seen(req.name)) return { msg: { rcode: Rcode.REFUSED } };
    if (!isSubdomain(req.name, this.from) || this.except.some((z) => isSubdomain(req.name, z))) return next();
    if (this.opts.maxConcurrent > 0 && this.inflight >= this.opts.maxConcurrent) {
      this.stats.refusedOverLimit++;
      this.m.rejected();
      return { msg: { rcode: Rcode.REFUSED } };
    }
    this.inflight++;
    return this.forward(req);
  }

  /** Every query that passed the maxConcurrent check ends in one of these, once. */
  private readonly release = (r: Reply): Reply => {
    this.inflight--;
    return r;
  };

  private readonly dec = (): void => {
    this.inflight--;
  };

  /** tries() with the query released however it ends (a rejection too). */
  private rest(req: Request, list: Upstream[], t: Tries, from: number): Promise<Reply> {
    return this.tries(req, list, t, from).finally(this.dec);
  }

  /** Upstreams to try, in policy order: the healthy ones, or (all down, and configured so) every non-looping one. */
  private order(): Upstream[] {
    // One upstream, healthy (the common case): the list itself, no copy per query.
    if (this.upstreams.length === 1 && this.upstreams[0]!.healthy) return this.upstreams;
    let list = this.upstreams.filter((u) => u.healthy);
    if (list.length === 0 && !this.opts.servfailWhenAllDown) list = this.upstreams.filter((u) => !u.loop);
    if (list.length <= 1) return list;
    switch (this.opts.policy) {
      case 'sequential':
        return list;
      case 'round_robin': {
        const at = this.rr++ % list.length;
        return [...list.slice(at), ...list.slice(0, at)];
      }
      case 'random':
        for (let i = list.length - 1; i > 0; i--) {
          const j = Math.floor(Math.random() * (i + 1));
          [list[i], list[j]] = [list[j]!, list[i]!];
        }
        return list;
    }
  }

  /**
   * The first try is the common case, a UDP exchange that is answered: it
   * runs as one promise and one callback. Anything else (a failure, REFUSED,
   * TCP, preferUdp's TCP retry) goes on in tries(), the general loop.
   */
  private forward(req: Request): Promise<Reply> {
    const list = this.order();
    if (list.length === 0) {
      this.stats.servfailAllDown++;
      this.m.allDown();
      return Promise.resolve(this.release({ msg: { rcode: Rcode.SERVFAIL, flags: { ra: true } } }));
    }
    const t: Tries = { deadline: this.ctx.clock.now() + this.timeoutMs, allDown: !list[0]!.healthy, refusedBy: null, refused: null };
    const up = list[0]!;
    if (up.loop || (up.down && !t.allDown) || this.opts.forceTcp || this.opts.preferUdp || req.transport !== 'udp') return this.rest(req, list, t, 0);
    // ID 0: the pool writes one no other query in flight on its socket has.
    const query = buildUpstreamQuery(req, 0);
    // Everything but the ID: flags, question as spelled, EDNS size and DO bit.
    const key = query.toString('latin1', 2);
    const shared = this.pending.get(key);
    if (shared) return this.follow(shared, req, list, t);
    const t0 = performance.now();
    this.m.sent(up.name);
    const own: Pending = { key, up, reply: up.exchange(query, 'udp', Math.min(this.tryTimeoutMs, this.timeoutMs)) };
    this.pending.set(key, own);
    return this.first(own, req, list, t, t0, true);
  }

  /** A query identical to one whose first try is in flight: it takes that reply (see first()). */
  private follow(shared: Pending, req: Request, list: Upstream[], t: Tries): Promise<Reply> {
    this.stats.merged++;
    this.m.merged();
    return this.first(shared, req, list, t, 0, false);
  }

  /**
   * How a first try ends for one query: the reply fitted to its own ID and
   * spelling, or its further tries after a failure, REFUSED or a malformed
   * reply. `sent`: the query that sent it, which alone counts the attempt
   * (health, metrics) and ends the sharing; its callbacks were registered
   * first, so they run before any follower's.
   */
  private first(p: Pending, req: Request, list: Upstream[], t: Tries, t0: number, sent: boolean): Promise<Reply> {
    return p.reply.then(
      (wire) => {
        if (sent) this.pending.delete(p.key);
        const r = this.accept(p.up, req, wire, t0, t, sent);
        return r ? this.release(r) : this.rest(req, list, t, 1);
      },
      (err) => {
        if (sent) {
          this.pending.delete(p.key);
          this.attemptFailed(p.up, req, err);
        }
        return this.rest(req, list, t, 1);
      },
    );
  }

  /**
   * A reply from `up`: the client's reply, or null when the next upstream
   * should be tried (REFUSED, kept in `t` in case nobody does better; or a
   * malformed reply, counted as a failed attempt).
   */
  private accept(up: Upstream, req: Request, reply: Buffer, t0: number, t: Tries, sent = true): Reply | null {
    let wire: Buffer;
    try {
      wire = toClientWire(reply, req);
    } catch (err) {
      if (sent) this.attemptFailed(up, req, err);
      return null;
    }
    const rcode = rcodeOf(reply);
    // A shared reply was counted (health, metrics) by the query that was sent.
    if (sent) {
      up.succeeded();
      this.m.answered(up.name, rcode, (performance.now() - t0) / 1000);
    }
    // REFUSED usually means this upstream will not recurse for us; another one may.
    if (rcode === Rcode.REFUSED) {
      (t.refusedBy ??= new Set()).add(up);
      t.refused = wire;
      return null;
    }
    this.stats.forwarded++;
    return { wire };
  }

  private attemptFailed(up: Upstream, req: Request, err: unknown): void {
    this.stats.failedAttempts++;
    this.m.failed(up.name, err instanceof UpstreamError ? err.kind : 'malformed');
    up.failed(err);
    this.ctx.logger.debug({ upstream: up.name, name: req.qname, type: req.type, err: (err as Error).message }, 'upstream attempt failed');
  }

  /** Tries list[`from`] onwards (not released: see rest()): each upstream at most twice (a lost UDP datagram deserves a second chance), all within the deadline. */
  private async tries(req: Request, list: Upstream[], t: Tries, from: number): Promise<Reply> {
    const clock = this.ctx.clock;
    for (let i = from; i < list.length * 2; i++) {
      const up = list[i % list.length]!;
      if (up.loop || t.refusedBy?.has(up) || (up.down && !t.allDown)) continue;
      const left = t.deadline - clock.now();
      if (left <= 0) break;
      const t0 = performance.now();
      this.m.sent(up.name);
      let reply: Buffer;
      try {
        reply = await this.attempt(up, req, Math.min(this.tryTimeoutMs, left));
      } catch (err) {
        this.attemptFailed(up, req, err);
        continue;
      }
      const r = this.accept(up, req, reply, t0, t);
      if (r) return r;
    }
    if (t.refused) return { wire: t.refused };
    return { msg: { rcode: Rcode.SERVFAIL, flags: { ra: true } } };
  }

  /**
   * One attempt on one upstream, over the client's transport unless
   * `forceTcp` or `preferUdp` says otherwise. A truncated UDP reply is
   * retried over TCP when `preferUdp` chose UDP (RFC 7766 §5); otherwise
   * the TC reply goes back to the UDP client, which retries over TCP itself.
   */
  private async attempt(up: Upstream, req: Request, timeoutMs: number): Promise<Buffer> {
    const transport = this.opts.forceTcp ? 'tcp' : this.opts.preferUdp ? 'udp' : req.transport;
    const started = this.ctx.clock.now();
    const reply = await up.exchange(buildUpstreamQuery(req, randomId()), transport, timeoutMs);
    if (transport === 'udp' && this.opts.preferUdp && isTruncated(reply)) {
      const left = timeoutMs - (this.ctx.clock.now() - started);
      return up.exchange(buildUpstreamQuery(req, randomId()), 'tcp', Math.max(1, left));
    }
    return reply;
  }
}
