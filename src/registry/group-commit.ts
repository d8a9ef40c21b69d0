/**
 * Group commit: one writer drains a queue of records. Everything queued while
 * the previous batch was being written goes out in one append (and one fsync),
 * then each entry's `apply` runs and its promise resolves, in queue order.
 *
 * Once a write fails the queue is poisoned: the log may hold a partial batch,
 * so every later entry is rejected with the same error (the owner decides what
 * that means; the embedded registry refuses writes until restart).
 */
import { SkyError } from '../errors.js';

interface Entry<R> {
  rec: R;
  apply: () => void;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface GroupCommitHooks<R> {
  /** Makes a batch durable (append + fsync). */
  write(records: R[]): Promise<void>;
  /** Runs after each applied batch, before the next one is written (snapshots go here). */
  afterBatch?(): Promise<void>;
  /** Called once, with the first failure. */
  onFail?(err: SkyError): void;
}

export class GroupCommit<R> {
  private queue: Entry<R>[] = [];
  private running: Promise<void> | undefined;
  private _failure: SkyError | undefined;

  constructor(private readonly hooks: GroupCommitHooks<R>) {}

  get failure(): SkyError | undefined {
    return this._failure;
  }

  /** Queues `rec`; resolves after it is durable and `apply` has run. */
  submit(rec: R, apply: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rec, apply, resolve, reject });
      this.kick();
    });
  }

  /** Resolves when everything queued so far (and anything queued meanwhile) is settled. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Marks the queue failed (also used by the owner when, say, a snapshot fails). */
  fail(e: unknown): void {
    if (this._failure) return;
    this._failure = e instanceof SkyError ? e : new SkyError('SKY_ERR_REGISTRY_IO', String(e), { cause: e });
    this.hooks.onFail?.(this._failure);
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.drain()
      .catch((e) => this.fail(e))
      .finally(() => {
        this.running = undefined;
        if (this.queue.length) this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      if (!this._failure) {
        try {
          await this.hooks.write(batch.map((e) => e.rec));
        } catch (e) {
          this.fail(e);
        }
      }
      if (this._failure) {
        for (const e of batch) e.reject(this._failure);
        continue;
      }
      for (const e of batch) {
        e.apply();
        e.resolve();
      }
      if (this.hooks.afterBatch) {
        try {
          await this.hooks.afterBatch();
        } catch (e) {
          this.fail(e);
        }
      }
    }
  }
}
