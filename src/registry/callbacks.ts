/**
 * Callbacks (SkyDNS 1): when a service is removed (DELETE or expiry) every
 * stored callback that matches it gets
 * `DELETE http://{Reply}:{Port}/skydns/callbacks/{callbackUUID}` with the
 * service JSON as body.
 *
 * Delivery: one delivery per (removal event, matching callback). A delivery
 * tries up to 1 + `retries` times, each try bounded by `timeoutMs`, with
 * exponential backoff on the injected clock between tries; a 2xx ends it. A
 * try that timed out may still have reached the receiver, so a retry after a
 * timeout can repeat a call: receivers should treat the DELETE as idempotent.
 */
import { BlockList, isIP } from 'node:net';
import type { Clock, Timer } from '../clock.js';
import { SkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { toLabel } from './names.js';
import { toJSON, type Callback, type Registry, type RegistryEvent, type StoredService } from './types.js';

export interface CallbackNotifierOptions {
  clock: Clock;
  logger: Logger;
  /** Per-try timeout (default 2000 ms). */
  timeoutMs?: number;
  /** Tries after the first (default 3). */
  retries?: number;
  /** First backoff; doubles each retry (default 250 ms). */
  backoffMs?: number;
  /** Sent as the `Authorization` header when set. */
  secret?: string;
  /**
   * Networks a callback's Reply must be in to be called (checked again at
   * delivery: a callback stored before the list was set, or by another node,
   * is not called outside it). Absent: any address.
   */
  allowNetworks?: string[];
  /**
   * Whether this node fires callbacks. In a cluster every node sees every
   * removal, so exactly one node (the elected one) must have this on, or each
   * removal would be announced once per node. Single node: leave it on.
   */
  enabled?: boolean;
}

const WILD = new Set(['', 'any', '*']);

/** Name must equal; Version, Environment, Region and Host filter only when set. */
export function callbackMatches(cb: Callback, svc: StoredService): boolean {
  if (toLabel(cb.Name) !== toLabel(svc.Name)) return false;
  const pairs: [string | undefined, string][] = [
    [cb.Version, svc.Version],
    [cb.Environment, svc.Environment],
    [cb.Region, svc.Region],
    [cb.Host, svc.Host],
  ];
  for (const [want, have] of pairs) {
    if (want === undefined || WILD.has(want.toLowerCase())) continue;
    if (toLabel(want) !== toLabel(have)) return false;
  }
  return true;
}

/**
 * Refuses a callback Reply outside `allowNetworks` (CIDRs such as `10.0.0.0/8`,
 * `::1/128`): SKY_ERR_REGISTRY_INVALID at path `Reply`. Without a list anything
 * goes. With a list, Reply must be an IP address: a hostname could resolve
 * anywhere later, so it is refused. Call this when a callback is registered.
 */
export function checkReplyAllowed(reply: string, allowNetworks?: string[]): void {
  if (!allowNetworks) return;
  const fam = isIP(reply);
  if (fam === 0) {
    throw new SkyError('SKY_ERR_REGISTRY_INVALID', `Reply must be an IP address when callback networks are restricted, got ${JSON.stringify(reply)}`, { path: 'Reply' });
  }
  const list = new BlockList();
  for (const cidr of allowNetworks) {
    const [addr = '', bits] = cidr.split('/');
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(addr, bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits), type);
  }
  if (!list.check(reply, fam === 6 ? 'ipv6' : 'ipv4')) {
    throw new SkyError('SKY_ERR_REGISTRY_INVALID', `Reply ${reply} is outside the networks allowed for callbacks`, { path: 'Reply' });
  }
}

/** The URL a callback is delivered to. */
export function callbackUrl(cb: Callback): string {
  const host = isIP(cb.Reply) === 6 ? `[${cb.Reply}]` : cb.Reply;
  return `http://${host}:${cb.Port}/skydns/callbacks/${encodeURIComponent(cb.UUID)}`;
}

export class CallbackNotifier {
  /** See CallbackNotifierOptions.enabled: on only on the node elected to fire callbacks. */
  enabled: boolean;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly inflight = new Set<Promise<void>>();
  private readonly timers = new Set<{ timer: Timer; wake: () => void }>();
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(private readonly registry: Registry, private readonly opts: CallbackNotifierOptions) {
    this.enabled = opts.enabled ?? true;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 250;
    this.unsubscribe = registry.onChange((ev) => this.onEvent(ev));
  }

  /** Resolves once no delivery is outstanding (retries included). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** Stops listening and abandons pending retries; in-flight tries finish on their own. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of this.timers) {
      t.timer.cancel();
      t.wake();
    }
    await this.idle();
  }

  private onEvent(ev: RegistryEvent): void {
    if (!this.enabled || this.closed || (ev.kind !== 'remove' && ev.kind !== 'expire')) return;
    const body = JSON.stringify(toJSON(ev.service, this.opts.clock.now()));
    for (const cb of this.registry.callbacks()) {
      if (!callbackMatches(cb, ev.service)) continue;
      if (!this.allowed(cb)) continue;
      const p = this.deliver(cb, body, ev.service.UUID).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
  }

  private allowed(cb: Callback): boolean {
    try {
      checkReplyAllowed(cb.Reply, this.opts.allowNetworks);
      return true;
    } catch (e) {
      this.opts.logger.warn({ callback: cb.UUID, reply: cb.Reply, err: (e as Error).message }, 'callback not sent: its Reply is outside the allowed networks');
      return false;
    }
  }

  private async deliver(cb: Callback, body: string, service: string): Promise<void> {
    const url = callbackUrl(cb);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.secret !== undefined) headers.authorization = this.opts.secret;
    const log = this.opts.logger;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        await this.wait(this.backoffMs * 2 ** (attempt - 1));
        if (this.closed) return;
      }
      try {
        const res = await fetch(url, { method: 'DELETE', headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
        await res.arrayBuffer().catch(() => undefined); // drain, so the connection is reusable
        if (res.ok) {
          log.debug({ callback: cb.UUID, service, url, attempt }, 'callback delivered');
          return;
        }
        log.warn({ callback: cb.UUID, service, url, attempt, status: res.status }, 'callback answered with an error status');
      } catch (e) {
        log.warn({ callback: cb.UUID, service, url, attempt, err: (e as Error).message }, 'callback failed');
      }
    }
    log.error({ callback: cb.UUID, service, url, tries: this.retries + 1 }, 'callback given up after its retries');
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        wake: resolve,
        timer: this.opts.clock.setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
      };
      this.timers.add(entry);
    });
  }
}
