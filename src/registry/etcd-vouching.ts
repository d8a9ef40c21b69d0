/**
 * Whether an etcd node can vouch for its copy, and what it does when that
 * changes (the etcd registry's half of freshness.ts):
 *
 * - It has heard from etcd when its mirror swapped in a full list or got a
 *   watch response, or when a probe (etcd-contact.ts) found a member with a
 *   leader while the watch was live.
 * - Without news for `staleAfterMs` it is cut off: it stops trusting its
 *   watch (a silent partition leaves the stream hanging) and re-lists with
 *   back-off.
 * - The first probe that gets through after that resets the connections
 *   and the watch stream (those dialled during the partition wait on TCP's
 *   SYN back-off, the stream on a dead connection on the keepalive) and has
 *   the mirror list at once: the copy is in step again about a
 *   probe interval after the heal, whatever the partition's length.
 */
import type { Etcd3 } from 'etcd3';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { reconnect, type LinkTiming } from './etcd-client.js';
import { EtcdContact } from './etcd-contact.js';
import type { EtcdMirror } from './etcd-mirror.js';
import { Freshness, type FreshnessOptions } from './freshness.js';
import type { Staleness } from './types.js';

export interface VouchingOptions extends FreshnessOptions {
  clock: Clock;
  logger: Logger;
  /** The measured round trip to etcd (the probes keep it). */
  timing: LinkTiming;
  /** The mirror and the main client, once the registry has started (undefined before and after). */
  live: () => { mirror: EtcdMirror; client: Etcd3 } | undefined;
}

export class EtcdVouching {
  private readonly fresh: Freshness;
  private contact: EtcdContact | undefined;
  /** Lost contact (connections reset); cleared once the copy is in step again. */
  private cutOff = false;
  /** Since the first probe that got through after a cut-off (connections reset then). */
  private regaining = false;

  constructor(private readonly o: VouchingOptions) {
    this.fresh = new Freshness(o);
  }

  /** Starts probing with `contact` (its onContact/onRound go to probed()/round()). */
  start(contact: EtcdContact): void {
    this.contact = contact;
    contact.start();
  }

  stop(): void {
    this.contact?.stop();
  }

  /** What the probes say about a failure to reach etcd (EtcdContact.explain). */
  explain(): string | undefined {
    return this.contact?.explain();
  }

  /** Times the state changed: part of the registry's version, so kept answers are rebuilt. */
  get flips(): number {
    this.check();
    return this.fresh.flips;
  }

  vouches(): boolean {
    this.check();
    return this.fresh.vouches;
  }

  staleness(): Staleness {
    this.check();
    return this.fresh.staleness(this.o.clock.now());
  }

  lagSeconds(): number {
    return this.fresh.lagMs() / 1000;
  }

  /** The time reads compare expiries with: now, or earlier while serving stale records. */
  readNow(): number {
    const now = this.o.clock.now();
    return this.fresh.vouches ? now : this.fresh.readNow(now);
  }

  /** The mirror was in step at `mono` (performance.now()) / `at` (clock). */
  heard(mono: number, at: number): void {
    this.fresh.heard(mono, at);
    this.check();
  }

  /** A member with a leader answered a probe sent at `mono`. */
  probed(mono: number, at: number): void {
    const live = this.o.live();
    if (!live) return;
    const m = live.mirror;
    if (m.synced && m.watchLive && !this.cutOff) {
      this.heard(mono, at);
      return;
    }
    // etcd answers again but the copy is not in step: list now, on new connections (once per heal).
    if (this.cutOff && !this.regaining) {
      this.regaining = true;
      this.o.logger.info('etcd answers this node again; reconnecting and re-listing now');
      reconnect(live.client);
    }
    m.retryNow();
  }

  /** After every probe. */
  round(): void {
    if (!this.contact?.members().some((x) => x.reachable && x.leader)) this.regaining = false;
    this.check();
  }

  /** Notices the node starting or stopping to vouch for its copy, and acts on it. */
  private check(): void {
    const live = this.o.live();
    if (!this.fresh.update(live?.mirror.synced ?? false, 2 * this.o.timing.srttMs) || !live) return;
    const log = this.o.logger;
    if (this.fresh.vouches) {
      if (this.cutOff) log.info('in contact with etcd again; the copy is in step');
      this.cutOff = false;
      this.regaining = false;
      return;
    }
    if (!live.mirror.synced) return;
    this.cutOff = true;
    const { staleAfterMs, mode } = this.o;
    log.warn({ staleAfterMs, stale: mode }, `no news from etcd for ${staleAfterMs} ms (${this.explain() ?? 'etcd has not answered'}): this node cannot vouch for its copy; negative answers become SERVFAIL${mode === 'serve' ? ' and records that expire meanwhile are still served' : ''} until it hears from etcd again`);
    // Re-list (with back-off) rather than trust a watch that may hang on a dead connection. The
    // connections themselves are reset only when etcd answers again (probed()): a node that is
    // just slow (a loaded machine, a long round trip) keeps the calls it has under way.
    live.mirror.resync('no news from etcd');
  }
}
