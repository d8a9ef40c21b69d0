/**
 * The etcd connection of the etcd registry backend: the `etcd3` client with a
 * deadline on every unary call, retries within it, a small per-member circuit
 * breaker, and the mapping of client errors to SKY_ERR_REGISTRY_UNAVAILABLE
 * with a message that says what is wrong (no quorum, unreachable, refused).
 *
 * `etcd3` (and gRPC under it) is loaded on first use, so a server that runs
 * the embedded backend never pays for it.
 */
import { readFileSync } from 'node:fs';
import type { Etcd3, IOptions } from 'etcd3';
import { SkyError } from '../errors.js';

type EtcdModule = typeof import('etcd3');
let mod: EtcdModule | undefined;

/** Loads `etcd3` once. */
export async function loadEtcd(): Promise<EtcdModule> {
  mod ??= await import('etcd3');
  return mod;
}

export interface EtcdConnection {
  /** host:port, http://host:port or https://host:port of each member. */
  endpoints: string[];
  /** PEM contents (already read from their files). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
  /** Deadline of every unary call (the whole call, retries included; each try gets `attemptMs`). */
  callTimeoutMs: number;
  /** The measured round trip to etcd (the registry's probes keep it); absent: assume a fast link. */
  timing?: LinkTiming;
  /** Why etcd cannot be reached, as the probes see it (EtcdContact.explain). */
  explain?: () => string | undefined;
}

/**
 * The smoothed round trip to etcd (RFC 6298's SRTT, alpha 1/8), from the
 * registry's Status probes. It only ever makes limits longer: a try of a
 * unary call gets at least 3 round trips (attemptMs).
 */
export class LinkTiming {
  srttMs = 0;

  sample(ms: number): void {
    this.srttMs = this.srttMs === 0 ? ms : this.srttMs + (ms - this.srttMs) / 8;
  }
}

/** Reads the PEM files of `registry.tls` (SKY_ERR_CONFIG_INVALID naming the key when one cannot be read). */
export function readTls(files: { ca?: string; cert?: string; key?: string }): NonNullable<EtcdConnection['tls']> {
  const read = (what: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const f = files[what];
    if (f === undefined) return undefined;
    try {
      return readFileSync(f);
    } catch (err) {
      throw new SkyError('SKY_ERR_CONFIG_INVALID', `cannot read the etcd TLS ${what} file ${f}: ${(err as Error).message}`, { path: `registry.tls.${what}` });
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key') };
}

interface PolicyContext {
  signal: AbortSignal;
}
type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
const never = new AbortController().signal;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Per member: after 3 consecutive transient failures the member is skipped for
 * a second, so calls go to the others at once instead of waiting on a dead one.
 */
class MemberBreaker {
  private failures = 0;
  private openUntil = 0;

  constructor(private readonly host: string) {}

  async execute<T>(fn: (ctx: PolicyContext) => PromiseLike<T> | T): Promise<T> {
    if (Date.now() < this.openUntil) throw new Error(`etcd member ${this.host} skipped after repeated failures`);
    try {
      const r = await fn({ signal: never });
      this.failures = 0;
      return r;
    } catch (err) {
      if (mod && err instanceof Error && mod.isRecoverableError(err) && ++this.failures >= 3) {
        this.failures = 0;
        this.openUntil = Date.now() + 1000;
      }
      throw err;
    }
  }

  /** Forgets past failures (the network to the member just came back). */
  reset(): void {
    this.failures = 0;
    this.openUntil = 0;
  }
}

/** Each client's member breakers, for reconnect(). */
const breakers = new WeakMap<Etcd3, MemberBreaker[]>();

/**
 * Each try of a unary call gets a third of the call's deadline, at least
 * 500 ms, and at least 4 measured round trips to etcd (a slow but healthy
 * link: a 500 ms round trip gives each try 2 s, room for a new connection
 * and the call), never more than the whole deadline. With a round trip above `callTimeoutMs` / 3 raise `callTimeoutMs`
 * (docs/cluster.md).
 */
export const attemptMs = (callTimeoutMs: number, srttMs = 0): number =>
  Math.min(Math.max(callTimeoutMs, 500), Math.max(500, Math.round(callTimeoutMs / 3), Math.ceil(4 * srttMs)));

/**
 * Whole calls: a try that could not reach its member, found no leader there, or
 * ran out of its share of the deadline is tried again (on a member picked
 * afresh) until the call's deadline is spent. When the etcd leader dies, the
 * followers keep forwarding to it until they notice (about one election
 * timeout): a try sent then never commits, and a later one reaches the new
 * leader. Trying a write again is safe here because every registry write is a
 * compare-and-swap that recognises its own earlier success (etcd-txn.ts).
 */
class RetryWithinDeadline {
  constructor(private readonly budgetMs: number) {}

  async execute<T>(fn: (ctx: PolicyContext) => PromiseLike<T> | T): Promise<T> {
    const start = Date.now();
    // A member that was reached but could not commit says more than one that could not be reached.
    let reached: unknown;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn({ signal: never });
      } catch (err) {
        if (noLeader(err)) reached = err;
        const wait = Math.min(50 * 2 ** attempt, 250);
        if (!(unreachable(err) || noLeader(err))) throw err;
        if (Date.now() - start + wait >= this.budgetMs) throw reached ?? err;
        await sleep(wait);
      }
    }
  }
}

/** Runs each call once, as it is (the probes' policy: their next round is the retry). */
const once = { execute: <T>(fn: (ctx: PolicyContext) => PromiseLike<T> | T) => fn({ signal: never }) };

/**
 * A connected (lazily dialing) client. Call `loadEtcd()` first. A `probe`
 * client (EtcdContact's) tries each call once, with no circuit breaker, under
 * the deadline `probe` returns.
 */
export function connect(c: EtcdConnection, probe?: () => number): Etcd3 {
  if (!mod) throw new Error('loadEtcd() must run before connect()');
  const tryMs = probe ?? (() => attemptMs(c.callTimeoutMs, c.timing?.srttMs));
  const members: MemberBreaker[] = [];
  const opts: IOptions = {
    hosts: c.endpoints,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + tryMs() }),
    faultHandling: {
      global: (probe ? once : new RetryWithinDeadline(c.callTimeoutMs)) as unknown as Policy,
      host: (h: string) => {
        if (probe) return once as unknown as Policy;
        const b = new MemberBreaker(h);
        members.push(b);
        return b as unknown as Policy;
      },
    },
    // Find a dead peer on a silent connection. etcd's server refuses pings
    // more often than every 5 s (--grpc-keepalive-min-time, default 5s: two
    // excess pings get "too_many_pings" and grpc-js then doubles its
    // interval), so pings go every 10 s; the registry's once-a-second probes
    // find a partition sooner and then reset the connections (reconnect()).
    grpcOptions: {
      'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 3_000, 'grpc.keepalive_permit_without_calls': 1,
      // A channel of its own per client: grpc-js otherwise shares one connection per address
      // process-wide, so a fresh channel (reconnect(), a probe after a failure) would inherit a
      // connection attempt stuck in back-off. And after a failed attempt, try again within 1 s
      // (grpc's default back-off grows to 120 s over a long partition).
      'grpc.use_local_subchannel_pool': 1, 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': 1000,
    },
  };
  if (c.tls?.ca) opts.credentials = { rootCertificate: c.tls.ca, privateKey: c.tls.key, certChain: c.tls.cert };
  if (c.auth) opts.auth = { username: c.auth.username, password: c.auth.password };
  const client = new mod.Etcd3(opts);
  breakers.set(client, members);
  return client;
}

/**
 * Drops every connection of `client` and its watch stream, so the next call
 * dials afresh and the watchers re-attach ('disconnected' first), and
 * forgets the members' failures. For a
 * silent partition: a gRPC connection attempt made during it waits on TCP's
 * SYN back-off (seconds to minutes) and a stream on a dead connection waits
 * for the keepalive. Reaches into etcd3 1.1's connection pool and watch
 * manager (package.json pins etcd3 ^1.1); does nothing if their shape changed.
 */
export function reconnect(client: Etcd3): void {
  const c = client as unknown as {
    pool?: { hosts?: Array<{ cachedServices?: Record<string, { close?: () => void } | undefined>; resetAllServices?: () => void }> };
    watchManager?: { state?: number; handleError?: (err: Error) => void };
  };
  for (const h of c.pool?.hosts ?? []) {
    // Close at once: etcd3's resetAllServices() gives a still-connecting channel another second,
    // and the calls queued on it (a re-list) would wait that long before failing over to a new one.
    if (h.cachedServices) {
      for (const svc of Object.values(h.cachedServices)) svc?.close?.();
      h.cachedServices = Object.create(null) as Record<string, undefined>;
    } else h.resetAllServices?.();
  }
  // The members failed all through the partition: their breakers would skip them for another second.
  for (const b of breakers.get(client) ?? []) b.reset();
  const wm = c.watchManager;
  // 2 = Connected: cancel the stream (Idle and Connecting have none to drop).
  if (wm?.state === 2 && typeof wm.handleError === 'function') wm.handleError(new Error('etcd connections reset after a partition'));
}

/** Rejects with `onTimeout()` when `p` has not settled within `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Thrown by withDeadline for the registry's own deadline. */
export class DeadlineError extends Error {
  constructor(readonly ms: number) {
    super(`no answer from etcd within ${ms} ms`);
  }
}

/**
 * The member could not be reached (the request never got to etcd). etcd3 does
 * not always keep gRPC's status code on the errors it rethrows, hence the text.
 */
function unreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (mod && err instanceof mod.GRPCUnavailableError) return true;
  return /\bUNAVAILABLE\b|ECONNREFUSED|EHOSTUNREACH|No connection established|skipped after repeated failures/.test(err.message);
}

/** etcd is there but cannot commit: no leader, or not in time. */
function noLeader(err: unknown): boolean {
  if (err instanceof DeadlineError || (mod && err instanceof mod.GRPCDeadlineExceededError)) return true;
  return err instanceof Error && /DEADLINE_EXCEEDED|etcdserver: (request timed out|no leader|leader changed|too many requests)/.test(err.message);
}

/** True for errors that say etcd (or the network to it) failed, not the request. */
export function isTransient(err: unknown): boolean {
  if (unreachable(err) || noLeader(err)) return true;
  return !!mod && err instanceof Error && mod.isRecoverableError(err);
}

/**
 * The SkyError for an etcd failure during `what` (e.g. "register u1"). A
 * transient failure says what the probes know: this node cannot reach etcd
 * (and the members it tried), or the members answer but have no leader (no
 * quorum). When the probes still see a member with a leader, the text says
 * only what this call met.
 */
export function unavailable(err: unknown, what: string, c: EtcdConnection): SkyError {
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof SkyError) return err;
  let text: string;
  const known = isTransient(err) ? c.explain?.() : undefined;
  if (known) {
    text = `${known}; could not ${what}`;
  } else if (noLeader(err)) {
    text = `the registry has no quorum: etcd did not commit "${what}" within ${c.callTimeoutMs} ms (is a majority of the etcd members up?)`;
  } else if (isTransient(err)) {
    // The probes have not seen the failure (yet): say what this call saw, no verdict on the members.
    text = `etcd did not answer this node's request to ${what} (${msg})`;
  } else if (mod && (err instanceof mod.EtcdAuthenticationFailedError || err instanceof mod.EtcdPermissionDeniedError)) {
    text = `etcd refused "${what}": ${msg} (check registry.auth and the user's role on the prefix)`;
  } else {
    text = `etcd failed to ${what}: ${msg}`;
  }
  return new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', text, { cause: err });
}
