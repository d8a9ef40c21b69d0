/**
 * How this node knows it is still in touch with etcd: a cheap probe of every
 * member, once a second (`probeIntervalMs`), on a gRPC connection of its own;
 * a member that does not answer is dialled again every 400 ms (REDIAL_MS).
 *
 * The probe is the maintenance Status call: a member answers it from its own
 * state, without Raft, so the answer tells apart "this node cannot reach the
 * member" (no answer) from "the member is there but has no leader" (an answer
 * with `leader` 0: the cluster has lost quorum, or is electing). An answer
 * from a member that has a leader is contact: the registry then knows that
 * etcd held no change its watch has not delivered at the time the probe was
 * sent (the watch is live; see EtcdRegistry.heard()).
 *
 * Why a probe and not watch progress notifications: etcd sends those every 10
 * minutes by default, and the etcd3 client offers no way to ask for one
 * (etcd 3.4's WatchProgressRequest comes back on watch id -1, which etcd3
 * 1.1 does not route). A Status call costs etcd a map read.
 *
 * A probe on an established connection has a deadline of max(1 s, 4 x the
 * smoothed round trip), at most `callTimeoutMs`. A member that missed it is
 * dialled afresh every interval (see loop()): on a silent partition (packets
 * dropped, no RST) a connection attempt is never older than one interval,
 * so the first probe after the heal gets through within about that instead
 * of waiting on TCP's SYN back-off. The smoothed round trip also sets the
 * per-try limit of every etcd call (etcd-client.ts), so a slow link does not
 * turn every write into a 503.
 */
import type { Etcd3 } from 'etcd3';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import { isTransient, withDeadline, DeadlineError, type LinkTiming } from './etcd-client.js';

/** What the last probe of one member found. */
export interface MemberState {
  endpoint: string;
  /** It answered the last probe. */
  reachable: boolean;
  /** Its answer named a leader. */
  leader: boolean;
  /** Why the last probe failed, or what is missing (no leader). */
  error?: string;
  /** It answered the last probe with a refusal (authentication, permission): reachable, not usable. */
  refused?: boolean;
}

export interface ContactOptions {
  endpoints: string[];
  /** A new client (its own connection) to endpoint i, whose calls get `timeoutMs()` each. */
  dial: (i: number, timeoutMs: () => number) => Etcd3;
  clock: Clock;
  intervalMs: number;
  /** Upper bound of a probe's deadline. */
  maxTimeoutMs: number;
  /** Shared with the main client: the probes keep its round-trip estimate. */
  timing: LinkTiming;
  /** A member with a leader answered a probe sent at `sentMono` (performance.now()) / `sentAt` (clock). */
  onContact: (sentMono: number, sentAt: number) => void;
  /** After every probe, answered or not. */
  onRound: () => void;
}

export class EtcdContact {
  private readonly states: MemberState[];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Every probe client not yet closed. */
  private readonly attempts = new Set<Etcd3>();
  private stopped = false;

  constructor(private readonly o: ContactOptions) {
    this.states = o.endpoints.map((endpoint) => ({ endpoint, reachable: false, leader: false, error: 'not probed yet' }));
  }

  start(): void {
    this.o.endpoints.forEach((_, i) => void this.loop(i));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.attempts) c.close();
    this.attempts.clear();
  }

  /** The members as the last probes found them. */
  members(): readonly MemberState[] {
    return this.states;
  }

  /** The deadline of one probe now. */
  timeoutMs(): number {
    return Math.min(this.o.maxTimeoutMs, Math.max(1000, Math.round(4 * this.o.timing.srttMs)));
  }

  /**
   * What the probes say about a failure to reach etcd, or undefined when some
   * member answered with a leader (then the failure is not the connection).
   */
  explain(): string | undefined {
    const s = this.states;
    if (s.some((m) => m.reachable && m.leader)) return undefined;
    const tried = (ms: MemberState[]) => ms.map((m) => `${m.endpoint} (${m.error ?? 'no answer'})`).join(', ');
    const refusing = s.filter((m) => m.refused);
    if (refusing.length) return `etcd refuses this node's requests: ${tried(refusing)}`;
    const up = s.filter((m) => m.reachable);
    const down = s.filter((m) => !m.reachable);
    if (up.length === 0) return `this node cannot reach etcd: tried ${tried(down)}`;
    const reach = `etcd member${up.length > 1 ? 's' : ''} ${up.map((m) => m.endpoint).join(', ')} answer${up.length > 1 ? '' : 's'} but ${up.length > 1 ? 'have' : 'has'} no leader`;
    return `the etcd cluster has no quorum: ${reach}${down.length ? `; this node cannot reach ${tried(down)}` : ''}`;
  }

  /**
   * Member i: while it answers, one probe at a time on its established
   * connection (these answers measure the round trip). Once a probe fails, a
   * new connection every interval, each allowed the whole `maxTimeoutMs` (a
   * slow link needs several round trips to set one up), the first to answer
   * becoming the steady one: after a silent partition heals, a connection
   * attempt at most one interval old gets through, whatever TCP's SYN
   * back-off does to the older ones.
   */
  private async loop(i: number): Promise<void> {
    const state = this.states[i]!;
    let steady: { client: Etcd3; hold: { steady: boolean } } | undefined;
    let lost = 0; // times the steady connection failed: attempts dialled before the last loss do not count
    while (!this.stopped) {
      const sentMono = performance.now();
      const sentAt = this.o.clock.now();
      if (steady) {
        const ms = this.timeoutMs();
        try {
          const res = await this.status(steady.client, ms);
          if (this.stopped) return;
          this.o.timing.sample(performance.now() - sentMono);
          this.answered(state, res.leader, sentMono, sentAt);
        } catch (err) {
          if (this.stopped) return;
          this.attempts.delete(steady.client);
          steady.client.close();
          steady = undefined;
          lost++;
          this.failed(state, err, ms);
        }
      } else {
        const hold = { steady: false };
        const max = this.o.maxTimeoutMs;
        const client = this.o.dial(i, () => (hold.steady ? this.timeoutMs() : max));
        this.attempts.add(client);
        const epoch = lost;
        this.status(client, max).then(
          (res) => {
            if (this.stopped) return;
            if (steady || lost !== epoch) {
              this.attempts.delete(client);
              client.close(); // another attempt won already
              return;
            }
            hold.steady = true;
            steady = { client, hold };
            this.answered(state, res.leader, sentMono, sentAt);
          },
          (err: unknown) => {
            this.attempts.delete(client);
            client.close();
            if (!this.stopped && !steady && lost === epoch) this.failed(state, err, max);
          },
        );
      }
      // Unreachable: dial again sooner than the steady probe, so that after a heal the
      // freshest attempt is under REDIAL_MS old and the catch-up stays within 1 s.
      const pause = steady ? this.o.intervalMs : Math.min(this.o.intervalMs, REDIAL_MS);
      await this.sleep(Math.max(0, pause - (performance.now() - sentMono)));
    }
  }

  private status(client: Etcd3, ms: number) {
    const p = client.maintenance.status();
    // gRPC's own deadline (the same ms, set a moment later) fires first as a rule.
    p.catch(() => undefined); // a late failure after the deadline is no one's business
    return withDeadline(p, ms + 100, () => new DeadlineError(ms));
  }

  private answered(state: MemberState, leader: string, sentMono: number, sentAt: number): void {
    state.reachable = true;
    state.refused = false;
    state.leader = leader !== '0' && leader !== '';
    state.error = state.leader ? undefined : 'answers, no leader';
    if (state.leader) this.o.onContact(sentMono, sentAt);
    this.o.onRound();
  }

  private failed(state: MemberState, err: unknown, ms: number): void {
    // An error that is not about the network (authentication, permission) came from the member.
    state.refused = !(err instanceof DeadlineError) && !isTransient(err);
    state.reachable = state.refused;
    state.leader = false;
    state.error = err instanceof DeadlineError ? `no answer within ${ms} ms` : shortError(err);
    this.o.onRound();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        r();
      }, ms);
      t.unref();
      this.timers.add(t);
    });
  }
}

/** Longest pause between connection attempts to a member that does not answer. */
const REDIAL_MS = 400;

/** The gist of a gRPC error for a one-line list of members. */
function shortError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/ECONNREFUSED/.test(msg)) return 'connection refused';
  if (/EHOSTUNREACH|ENETUNREACH/.test(msg)) return 'no route';
  if (/DEADLINE_EXCEEDED|Deadline exceeded/i.test(msg)) return 'no answer in time';
  return msg.split('\n')[0]!.slice(0, 120);
}
