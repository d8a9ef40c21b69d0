/**
 * The blocking GET (Consul's blocking queries): `?index=CURSOR&wait=30s`
 * answers at once when something matching changed after CURSOR, and otherwise
 * holds the request until something does or `wait` passes (then it answers
 * with no events and the current cursor, and the client asks again).
 *
 * Without a cursor, or with one the log cannot resume (another epoch, older
 * than the ring), the answer is a reset: the whole matching list, and the
 * cursor to block on next. A waiting request costs one listener and one timer.
 */
import type { Clock, Timer } from '../../clock.js';
import { compilePattern, matchesLabels } from '../pattern.js';
import type { Registry, ServicePattern } from '../types.js';
import type { ChangeLog } from './change-log.js';
import { changeOf, resetOf, type WatchChange, type WatchReset } from './stream.js';

/** A blocking GET's answer: changes after the cursor (maybe none, on timeout), or a reset. */
export type PollAnswer = { index: string; events: WatchChange[] } | WatchReset;

export interface PollOptions {
  log: ChangeLog;
  registry: Registry;
  clock: Clock;
  pattern: ServicePattern;
  from?: string;
  /** Longest hold, ms. */
  waitMs: number;
  /** Most events in one answer (the cursor stops after the last one sent). */
  maxEvents?: number;
}

export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

/** `30s`, `5m`, `1500ms` or seconds as a bare number (Consul's `wait`); undefined when malformed. */
export function parseWait(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return DEFAULT_WAIT_MS;
  const m = /^(\d{1,7})(ms|s|m)?$/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return Math.min(ms, MAX_WAIT_MS);
}

/**
 * A pending blocking GET. `answer` resolves once; `cancel()` (the client went
 * away, the server stops) settles it with what there is.
 */
export class Poll {
  readonly answer: Promise<PollAnswer>;
  private settle!: (a: PollAnswer) => void;
  private done = false;
  private cursor: number;
  private off: (() => void) | undefined;
  private timer: Timer | undefined;
  private readonly compiled: ReturnType<typeof compilePattern>;

  constructor(private readonly o: PollOptions) {
    this.answer = new Promise((resolve) => (this.settle = resolve));
    this.compiled = compilePattern(o.pattern);
    const from = o.log.resume(o.from);
    this.cursor = from ?? 0;
    if (from === undefined) {
      this.finish(resetOf(o.log, o.registry, o.pattern, 'start', o.clock.now()));
      return;
    }
    if (this.check()) return;
    this.off = o.log.onAppend(() => this.check());
    this.timer = o.clock.setTimeout(() => this.finish({ index: o.log.cursor(this.cursor), events: [] }), o.waitMs);
  }

  cancel(): void {
    this.finish({ index: this.o.log.cursor(this.cursor), events: [] });
  }

  /** Answers if anything matching is after the cursor; true when it did. */
  private check(): boolean {
    if (this.done) return true;
    const { log, clock } = this.o;
    if (this.cursor < log.first - 1) {
      this.finish(resetOf(log, this.o.registry, this.o.pattern, 'behind', clock.now()));
      return true;
    }
    const c = this.compiled;
    const max = this.o.maxEvents ?? 1000;
    const events: WatchChange[] = [];
    const now = clock.now();
    while (this.cursor < log.last && events.length < max) {
      const e = log.entry(++this.cursor)!;
      if (matchesLabels(c, e.labels)) events.push(changeOf(log, e, now));
    }
    if (events.length === 0) return false;
    this.finish({ index: log.cursor(this.cursor), events });
    return true;
  }

  private finish(a: PollAnswer): void {
    if (this.done) return;
    this.done = true;
    this.off?.();
    this.timer?.cancel();
    this.settle(a);
  }
}
