/**
 * The change log every watcher reads: a bounded ring of the registry's
 * recent changes, each with its own sequence number, filled from the
 * registry's `onChange` (so every backend's changes arrive the same way:
 * writes through this node, changes the etcd mirror saw from other nodes,
 * the embedded and etcd sweepers' expiries, and the primary's events relayed
 * to a worker by the IPC mirror).
 *
 * Why a sequence of its own and not the registry's `version`: one version
 * step can announce two events (a put that replaces an expired record
 * announces its `expire` and the `put`), and an etcd re-list announces a whole
 * diff under one step, so the version does not name one event. The sequence
 * is local to this log; `epoch` (random, per log) tells a cursor from another
 * process, another cluster node or an earlier run apart, so such a cursor gets
 * a reset instead of a replay from the wrong history.
 *
 * A cursor is `<epoch>-<seq>`: "I have seen everything up to seq". It can be
 * resumed while seq is at most `last` and not older than the ring (`first - 1`).
 */
import { randomBytes } from 'node:crypto';
import { labelsOf } from '../names.js';
import type { FieldName, Registry, RegistryEventKind, StoredService } from '../types.js';

/** What a watcher is told, named for a catalog's reader rather than for the registry's internals. */
export type WatchEventType = 'registered' | 'updated' | 'expired' | 'deleted';

const TYPE_OF: Record<RegistryEventKind, WatchEventType> = {
  put: 'registered',
  refresh: 'updated',
  expire: 'expired',
  remove: 'deleted',
};

export interface LogEntry {
  readonly seq: number;
  readonly type: WatchEventType;
  /** The record as it is (registered, updated) or as it was just before it went (expired, deleted). */
  readonly service: StoredService;
  /** Its six DNS labels, computed once for every watcher's pattern. */
  readonly labels: Readonly<Record<FieldName, string>>;
}

export const DEFAULT_HISTORY = 4096;

export class ChangeLog {
  readonly epoch: string;
  private readonly ring: (LogEntry | undefined)[];
  private seq = 0;
  private readonly listeners = new Set<() => void>();
  private readonly off: () => void;

  constructor(registry: Registry, readonly capacity: number = DEFAULT_HISTORY, epoch?: string) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`change log capacity must be a positive integer, got ${capacity}`);
    this.epoch = epoch ?? randomBytes(6).toString('base64url');
    this.ring = new Array<LogEntry | undefined>(capacity);
    this.off = registry.onChange((ev) => this.append(TYPE_OF[ev.kind], ev.service));
  }

  /** Sequence number of the newest entry (0 before the first). */
  get last(): number {
    return this.seq;
  }

  /** Sequence number of the oldest entry still held (`last + 1` when empty). */
  get first(): number {
    return Math.max(1, this.seq - this.capacity + 1);
  }

  /** The entry with this sequence number, if the ring still holds it. */
  entry(seq: number): LogEntry | undefined {
    if (seq < this.first || seq > this.seq) return undefined;
    return this.ring[seq % this.capacity];
  }

  /** The cursor naming everything up to `seq` (default: now). */
  cursor(seq: number = this.seq): string {
    return `${this.epoch}-${seq}`;
  }

  /**
   * The sequence a cursor resumes after, or undefined when it cannot be
   * resumed (absent, malformed, another epoch, ahead of this log, or older
   * than the ring): the watcher must re-list. A bare number is taken as a
   * sequence of this epoch (for hand-typed curl requests).
   */
  resume(cursor: string | undefined): number | undefined {
    if (cursor === undefined || cursor === '') return undefined;
    const dash = cursor.lastIndexOf('-');
    const epoch = dash < 0 ? this.epoch : cursor.slice(0, dash);
    const num = dash < 0 ? cursor : cursor.slice(dash + 1);
    if (epoch !== this.epoch || !/^\d{1,15}$/.test(num)) return undefined;
    const seq = Number(num);
    if (seq > this.seq || seq < this.first - 1) return undefined;
    return seq;
  }

  /** Calls `fn` after each appended entry; returns the unsubscribe function. */
  onAppend(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get watchers(): number {
    return this.listeners.size;
  }

  close(): void {
    this.off();
    this.listeners.clear();
  }

  private append(type: WatchEventType, service: StoredService): void {
    const seq = ++this.seq;
    this.ring[seq % this.capacity] = { seq, type, service, labels: labelsOf(service) };
    let failure: unknown;
    for (const fn of [...this.listeners]) {
      try {
        fn();
      } catch (e) {
        failure ??= e; // one watcher's failure must not starve the others
      }
    }
    if (failure !== undefined) throw failure; // the registry logs it as a listener that threw
  }
}
