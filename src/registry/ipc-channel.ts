/**
 * The message pipe between a worker process and the primary of a `workers`
 * group: one ordered, reliable stream of structured messages each way, with
 * a close signal. Three carriers fit it: a cluster worker's `process` (its IPC
 * channel to the primary), a `cluster.Worker` seen from the primary, and a
 * `MessagePort` (an in-process pair, used by the registry's contract tests).
 *
 * Every message has a `sky` field naming its protocol (`registry`,
 * `metrics`, `control`), so several protocols share one carrier and a
 * consumer ignores what is not its own (Node's cluster internals use their
 * own channel and never show up here).
 *
 * Ordering is what the registry's read-your-writes rests on: a reply sent
 * after an event is received after it.
 */
import type { Worker as ClusterWorker } from 'node:cluster';
import type { MessagePort } from 'node:worker_threads';

export interface SkyMessage {
  sky: string;
  [k: string]: unknown;
}

export interface Channel {
  /** Sends `msg`; returns false (and drops it) when the channel is closed. */
  send(msg: SkyMessage): boolean;
  /** Calls `fn` with every message; returns the unsubscribe function. */
  onMessage(fn: (msg: SkyMessage) => void): () => void;
  /** Calls `fn` once the other side is gone; at once if it already is. Returns the unsubscribe function. */
  onClose(fn: () => void): () => void;
  readonly closed: boolean;
}

function isSky(m: unknown): m is SkyMessage {
  return typeof m === 'object' && m !== null && typeof (m as { sky?: unknown }).sky === 'string';
}

/** What `process` (in a child) and `cluster.Worker` (in the primary) have in common. */
interface IpcEnd {
  send?(msg: unknown, handle?: undefined, opts?: object, cb?: (err: Error | null) => void): boolean;
  connected?: boolean;
  isConnected?(): boolean;
  on(ev: 'message', fn: (m: unknown) => void): unknown;
  on(ev: 'disconnect', fn: () => void): unknown;
  off(ev: 'message', fn: (m: unknown) => void): unknown;
  off(ev: 'disconnect', fn: () => void): unknown;
}

class IpcChannel implements Channel {
  private isClosed = false;
  private readonly closers = new Set<() => void>();

  constructor(private readonly end: IpcEnd) {
    end.on('disconnect', () => this.close());
  }

  get closed(): boolean {
    if (!this.isClosed && !this.connected()) this.close();
    return this.isClosed;
  }

  private connected(): boolean {
    const e = this.end;
    if (typeof e.isConnected === 'function') return e.isConnected();
    return e.connected === true;
  }

  send(msg: SkyMessage): boolean {
    if (this.closed || !this.end.send) return false;
    try {
      // The callback keeps a send racing a disconnect from becoming an 'error' event.
      return this.end.send(msg, undefined, {}, () => undefined);
    } catch {
      this.close();
      return false;
    }
  }

  onMessage(fn: (msg: SkyMessage) => void): () => void {
    const h = (m: unknown): void => {
      if (isSky(m)) fn(m);
    };
    this.end.on('message', h);
    return () => void this.end.off('message', h);
  }

  onClose(fn: () => void): () => void {
    if (this.closed) {
      fn();
      return () => undefined;
    }
    this.closers.add(fn);
    return () => void this.closers.delete(fn);
  }

  private close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const fn of [...this.closers]) fn();
    this.closers.clear();
  }
}

/** The worker's end: its own process's IPC channel to the primary. */
export function processChannel(proc: NodeJS.Process = process): Channel {
  return new IpcChannel(proc as unknown as IpcEnd);
}

/** The primary's end of one cluster worker. */
export function workerChannel(w: ClusterWorker): Channel {
  return new IpcChannel(w as unknown as IpcEnd);
}

/** One end of a MessageChannel (in-process pairs in tests; same ordering guarantees). */
export function portChannel(port: MessagePort): Channel {
  let closed = false;
  const closers = new Set<() => void>();
  port.on('close', () => {
    closed = true;
    for (const fn of [...closers]) fn();
    closers.clear();
  });
  return {
    get closed() {
      return closed;
    },
    send(msg) {
      if (closed) return false;
      port.postMessage(msg);
      return true;
    },
    onMessage(fn) {
      const h = (m: unknown): void => {
        if (isSky(m)) fn(m);
      };
      port.on('message', h);
      return () => void port.off('message', h);
    },
    onClose(fn) {
      if (closed) {
        fn();
        return () => undefined;
      }
      closers.add(fn);
      return () => void closers.delete(fn);
    },
  };
}
