/**
 * Whether a node that serves from a copy of a remote registry (etcd) can
 * vouch for it: it heard from the source within `staleAfterMs` (plus two
 * round trips on a slow link; real time, a monotonic clock, whatever the
 * injected clock does). "Heard" means the
 * copy was known to be in step at that moment: a full list was swapped in,
 * a watch response arrived, or a probe found etcd with a leader while the
 * watch was live.
 *
 * A node that cannot vouch must not deny a name (RFC 8767 §5, "serve stale";
 * Consul's `allow_stale`; CoreDNS's etcd plugin answers SERVFAIL when etcd
 * fails): the zone plugins answer SERVFAIL where they would have answered
 * NXDOMAIN or NODATA, and with `stale: "serve"` the copy keeps serving the
 * records whose expiry passed after the node last heard from etcd (a
 * heartbeat may have reached etcd through another node since), for at most
 * `maxStaleSeconds` past their expiry. With `stale: "servfail"` records
 * expire on time and the names they leave answer SERVFAIL.
 */
import { performance } from 'node:perf_hooks';
import type { Staleness } from './types.js';

export type StaleMode = 'serve' | 'servfail';

export interface FreshnessOptions {
  staleAfterMs: number;
  mode: StaleMode;
  maxStaleMs: number;
}

export class Freshness {
  private heardMono = -Infinity;
  private heardAt = -Infinity;
  private vouched = false;
  /** Times the vouching state changed: part of the registry's version, so kept answers are rebuilt. */
  flips = 0;

  constructor(readonly o: FreshnessOptions) {}

  /** The copy was in step at `mono` (performance.now()) / `at` (the registry's clock). */
  heard(mono: number, at: number): void {
    if (mono <= this.heardMono) return;
    this.heardMono = mono;
    this.heardAt = at;
  }

  /** Milliseconds since the copy was last known to be in step (Infinity before it ever was). */
  lagMs(): number {
    return Math.max(0, performance.now() - this.heardMono);
  }

  /**
   * Recomputes the state; true when it changed since the last call. `slackMs`
   * widens the bound for a slow link (news is at least a round trip old when
   * it arrives: the etcd registry passes two measured round trips).
   */
  update(synced: boolean, slackMs = 0): boolean {
    const v = synced && this.lagMs() <= this.o.staleAfterMs + slackMs;
    if (v === this.vouched) return false;
    this.vouched = v;
    this.flips++;
    return true;
  }

  /** Whether the copy can be trusted for a negative answer (call update() first). */
  get vouches(): boolean {
    return this.vouched;
  }

  /** For /ready and for a `workers` primary's state messages; `now` is the registry's clock. */
  staleness(now: number): Staleness {
    const lag = this.lagMs();
    const s: Staleness = { stale: !this.vouched, lagSeconds: Number.isFinite(lag) ? Math.round(lag) / 1000 : null };
    if (!this.vouched && this.o.mode === 'serve') s.readAt = this.readNow(now);
    return s;
  }

  /**
   * The time reads compare expiries with: `now` while vouching (and always
   * with `stale: "servfail"`); otherwise the last time the copy was in step,
   * but no earlier than `maxStaleSeconds` ago, so a record that expired while
   * the node could not confirm it stays visible within that bound.
   */
  readNow(now: number): number {
    if (this.vouched || this.o.mode === 'servfail') return now;
    return Math.min(now, Math.max(this.heardAt, now - this.o.maxStaleMs));
  }
}
