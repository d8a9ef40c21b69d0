/**
 * Expiry for the etcd backend. Reads already hide a record once its absolute
 * expiry has passed; the sweeper, one timer on the injected clock set to the
 * earliest expiry in the mirror, then deletes the record from etcd with a
 * compare on its mod_revision. Every node sweeps: one delete wins, the others
 * find the revision changed and do nothing, and every mirror announces the
 * delete as `expire`. A failed delete (etcd down) is tried again 2 s later;
 * meanwhile the record stays hidden, and its lease is the backstop.
 */
import type { Etcd3 } from 'etcd3';
import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../logger.js';
import { serviceKey, type KeyLayout, type ServiceEntry } from './etcd-codec.js';
import type { EtcdLeases } from './etcd-leases.js';
import type { EtcdMirror } from './etcd-mirror.js';

export interface SweeperDeps {
  clock: Clock;
  logger: Logger;
  keys: KeyLayout;
  client: Etcd3;
  leases: EtcdLeases;
  /** The mirror now (undefined once closed). */
  mirror: () => EtcdMirror | undefined;
  /** Runs an etcd call under the registry's deadline and error mapping. */
  call: <R>(p: Promise<R>, what: string) => Promise<R>;
  /** Runs `fn` in the write queue of `key` (tracked for flush()). */
  submit: (key: string, fn: () => Promise<void>) => void;
  /** Waits until the mirror has applied `rev`. */
  applied: (m: EtcdMirror, rev: number) => Promise<void>;
}

/** Longest single sleep (timers cannot wait more than ~24.8 days anyway). */
const MAX_SLEEP_MS = 3_600_000;
const RETRY_MS = 2000;

export class EtcdSweeper {
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private stopped = false;

  constructor(private readonly d: SweeperDeps) {}

  /** Sets the timer to the mirror's earliest expiry when that is sooner than the one set. */
  schedule(): void {
    const next = this.d.mirror()?.index.nextExpiry();
    if (this.stopped || next === undefined || next >= this.timerAt) return;
    this.timer?.cancel();
    const now = this.d.clock.now();
    const delay = Math.min(Math.max(0, next - now), MAX_SLEEP_MS);
    this.timerAt = now + delay;
    this.timer = this.d.clock.setTimeout(() => this.sweep(), delay);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const m = this.d.mirror();
    if (this.stopped || !m) return;
    for (const s of m.index.takeDue(this.d.clock.now())) {
      const e = m.entry(s.UUID);
      if (e && e.rec === s) this.d.submit(serviceKey(this.d.keys, s.UUID), () => this.expire(m, e));
    }
    this.schedule();
  }

  private async expire(m: EtcdMirror, e: ServiceEntry): Promise<void> {
    if (this.stopped || m.entry(e.rec.UUID)?.mod !== e.mod) return; // changed or gone meanwhile
    const k = Buffer.from(serviceKey(this.d.keys, e.rec.UUID));
    try {
      // CompareTarget MOD = 2, CompareResult EQUAL = 0 (rpc.proto)
      const txn = this.d.client.kv.txn({ compare: [{ key: k, target: 2, result: 0, mod_revision: e.mod }], success: [{ request_delete_range: { key: k } }] });
      const res = await this.d.call(txn, `expire ${e.rec.UUID}`);
      if (!res.succeeded) return; // another node (or a write) got there first
      if (e.lease !== '0') this.d.leases.revokeLater(e.lease);
      await this.d.applied(m, Number(res.header.revision));
    } catch (err) {
      this.d.logger.debug({ uuid: e.rec.UUID, err: (err as Error).message }, `could not delete an expired service from etcd; trying again in ${RETRY_MS} ms`);
      this.d.clock.setTimeout(() => {
        if (this.d.mirror() === m && m.entry(e.rec.UUID) === e) m.index.set(e.rec); // back on the expiry heap
        this.schedule();
      }, RETRY_MS);
    }
  }
}
