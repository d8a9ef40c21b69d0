/**
 * One streaming watcher (Server-Sent Events): a cursor into the change log
 * and a sink to write to. It holds no queue of its own: the log is the queue.
 * It writes entries after its cursor until the sink says "full" (write
 * returns false), then waits for the sink's drain and goes on from its
 * cursor. So a watcher's memory is its cursor plus whatever one write leaves
 * in the socket's buffer, however slow its reader.
 *
 * A reader so slow that the log overwrote entries it has not been sent yet
 * (its cursor fell behind the ring while the sink was full) is disconnected:
 * it reconnects with its last event id, finds the id too old, and gets a
 * `reset` with the current list. One reset is sent, without a disconnect,
 * when the watcher starts without a usable cursor.
 *
 * Events (SSE `event:` names): `registered`, `updated` (a heartbeat or a TTL
 * change), `expired`, `deleted`, and `reset` (data: every matching service
 * now; replace what you hold). Every event's `id:` is the log cursor, which
 * is what a reconnecting EventSource sends back as Last-Event-ID.
 */
import type { Clock } from '../../clock.js';
import { compilePattern, matchesLabels, type CompiledPattern } from '../pattern.js';
import { toJSON, type Registry, type ServiceJSON, type ServicePattern } from '../types.js';
import type { ChangeLog, LogEntry, WatchEventType } from './change-log.js';

/** The JSON `data:` of a change event (and one element of a blocking GET's `events`). */
export interface WatchChange {
  type: WatchEventType;
  index: string;
  service: ServiceJSON;
}

export type ResetReason = 'start' | 'behind';

/** The JSON `data:` of a reset: the whole matching list as of `index`. */
export interface WatchReset {
  type: 'reset';
  index: string;
  reason: ResetReason;
  services: ServiceJSON[];
}

/** Where a stream writes: a socket in production, an array in unit tests. */
export interface WatchSink {
  /** Writes a chunk; false when the sink is full (wait for drain). */
  write(chunk: string): boolean;
  /** Calls `fn` once the sink can take more. */
  onDrain(fn: () => void): void;
  /** Ends the stream (close the connection). */
  close(): void;
}

export interface StreamOptions {
  log: ChangeLog;
  registry: Registry;
  clock: Clock;
  pattern: ServicePattern;
  /** The reader's last cursor (Last-Event-ID); absent or unusable: start with a reset. */
  from?: string;
  /** SSE `retry:` advice to the browser, ms. */
  retryMs?: number;
}

export function changeOf(log: ChangeLog, e: LogEntry, now: number): WatchChange {
  return { type: e.type, index: log.cursor(e.seq), service: toJSON(e.service, now) };
}

function byUuid(a: ServiceJSON, b: ServiceJSON): number {
  return a.UUID < b.UUID ? -1 : a.UUID > b.UUID ? 1 : 0;
}

/** The reset a watcher of `pattern` gets: every live matching service, as of the log's newest entry. */
export function resetOf(log: ChangeLog, registry: Registry, pattern: ServicePattern, reason: ResetReason, now: number): WatchReset {
  return { type: 'reset', index: log.cursor(), reason, services: registry.query(pattern).map((s) => toJSON(s, now)).sort(byUuid) };
}

/** One SSE event block. JSON never holds a raw newline, so `data:` is one line. */
export function sseEvent(event: string, id: string, data: unknown): string {
  return `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class StreamWatcher {
  /** Sequence of the last entry handled (sent or skipped as not matching). */
  private cursor = 0;
  private blocked = false;
  private draining = false;
  private closed = false;
  private readonly compiled: CompiledPattern;
  private readonly off: () => void;
  /** Why the stream ended, once it has. */
  endReason: 'closed' | 'behind' | undefined;

  constructor(private readonly o: StreamOptions, private readonly sink: WatchSink) {
    this.compiled = compilePattern(o.pattern);
    if (o.retryMs !== undefined) sink.write(`retry: ${o.retryMs}\n\n`);
    const from = o.log.resume(o.from);
    if (from === undefined) this.reset('start');
    else this.cursor = from;
    this.off = o.log.onAppend(() => this.onAppend());
    this.pump();
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** A comment line that keeps proxies from closing an idle stream; skipped while the sink is full. */
  keepalive(): void {
    if (!this.closed && !this.blocked) this.blocked = !this.sink.write(':\n\n');
    if (this.blocked) this.waitDrain();
  }

  close(reason: 'closed' | 'behind' = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.endReason = reason;
    this.off();
    this.sink.close();
  }

  private onAppend(): void {
    if (this.closed) return;
    if (!this.blocked) return this.pump();
    // Full and the ring has moved past what it still owes: it cannot catch up.
    if (this.cursor < this.o.log.first - 1) this.close('behind');
  }

  private reset(reason: ResetReason): void {
    const r = resetOf(this.o.log, this.o.registry, this.o.pattern, reason, this.o.clock.now());
    this.cursor = this.o.log.last;
    if (!this.sink.write(sseEvent('reset', r.index, r))) this.blocked = true;
  }

  private pump(): void {
    if (this.closed) return;
    const log = this.o.log;
    if (this.cursor < log.first - 1) return this.close('behind');
    const now = this.o.clock.now();
    while (!this.blocked && this.cursor < log.last) {
      const e = log.entry(++this.cursor)!;
      if (!matchesLabels(this.compiled, e.labels)) continue;
      const c = changeOf(log, e, now);
      if (!this.sink.write(sseEvent(e.type, c.index, c))) this.blocked = true;
    }
    if (this.blocked) this.waitDrain();
  }

  private waitDrain(): void {
    if (this.draining || this.closed) return;
    this.draining = true;
    this.sink.onDrain(() => {
      this.draining = false;
      this.blocked = false;
      this.pump();
    });
  }
}
