/**
 * WorkerRegistry: the registry of a worker process in a `workers` group. The
 * primary owns the real registry (RegistryHost, ipc-host.ts); each worker keeps
 * a MemoryIndex mirror of it that every DNS lookup reads synchronously, the way
 * the etcd backend mirrors etcd.
 *
 * - start(): asks for a snapshot, then applies the primary's committed changes
 *   in commit order; `version` is the primary registry's version as of the
 *   last applied message, so it moves on every applied change.
 * - Reads hide records whose absolute `expiresAt` has passed on this worker's
 *   clock, before the primary's sweeper gets to them.
 * - Writes are requests to the primary; errors come back with their SKY_ERR
 *   codes (so the api plugin answers the same statuses). A write resolves once
 *   the primary committed it and this mirror applied every message the primary
 *   sent before the reply (read-your-writes). A request without an answer
 *   fails with SKY_ERR_REGISTRY_UNAVAILABLE after `requestTimeoutMs`, at once
 *   when the primary is gone.
 * - Callbacks fire in the primary, next to the registry, once per removal: a
 *   worker says it is never the callback leader, so the api plugin's notifier
 *   in each worker stays off.
 *
 * Deadlines use real timers, not the injected clock: they bound waiting on
 * another process, which a test clock does not drive.
 */
import type { Clock } from '../clock.js';
import { SkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CallbackLeadership } from './etcd-election.js';
import type { Channel } from './ipc-channel.js';
import { errorFromWire, fromWire, type ToPrimary, type ToWorker, type WireState, type WriteOp } from './ipc-protocol.js';
import { MemoryIndex } from './memory-index.js';
import { uuidKey } from './names.js';
import type { Callback, PutOptions, Registry, RegistryEvent, Service, ServicePattern, Staleness, StoredService } from './types.js';

export interface WorkerRegistryOptions {
  channel: Channel;
  clock: Clock;
  logger: Logger;
  /** How long a write (or flush) waits for the primary's answer (default 10000 ms). */
  requestTimeoutMs?: number;
  /** How long start() waits for the snapshot (default 10000 ms). */
  startTimeoutMs?: number;
}

interface Pending {
  op: WriteOp;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

const unavailable = (why: string): SkyError => new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', why);

export class WorkerRegistry implements Registry, CallbackLeadership {
  private index = new MemoryIndex();
  private readonly listeners = new Set<(ev: RegistryEvent) => void>();
  private readonly pending = new Map<number, Pending>();
  /** Replies that arrived ahead of the messages they depend on (never on an ordered channel; kept safe anyway). */
  private readonly early: Array<{ seq: number; run: () => void }> = [];
  private nextId = 1;
  private applied = 0;
  private _version = 0;
  private primaryReady = false;
  /** The primary's staleness as last sent, and when (Date.now()) it arrived. */
  private primaryStale: { st: Staleness; at: number } | undefined;
  private state: 'new' | 'starting' | 'ready' | 'closed' = 'new';
  private primaryGone = false;
  private offs: Array<() => void> = [];
  private snapshotWaiter: ((ok: boolean) => void) | undefined;
  private readonly requestTimeoutMs: number;

  constructor(private readonly o: WorkerRegistryOptions) {
    this.requestTimeoutMs = o.requestTimeoutMs ?? 10_000;
  }

  get version(): number {
    return this._version;
  }

  ready(): boolean {
    return this.state === 'ready' && this.primaryReady && !this.primaryGone;
  }

  /** The primary's registry can vouch for its copy (always, unless it mirrors etcd and lost touch). */
  vouches(): boolean {
    return !this.primaryStale?.st.stale;
  }

  /** The primary's staleness; while stale its lag is carried forward from when it was sent. */
  staleness(): Staleness | undefined {
    const p = this.primaryStale;
    if (!p) return undefined;
    const { stale, lagSeconds, readAt } = p.st;
    const lag = stale && lagSeconds !== null ? lagSeconds + (Date.now() - p.at) / 1000 : lagSeconds;
    return readAt === undefined ? { stale, lagSeconds: lag } : { stale, lagSeconds: lag, readAt };
  }

  /** Expiries compare with the primary's read time while it serves stale records. */
  private readNow(): number {
    const now = this.o.clock.now();
    const at = this.primaryStale?.st.readAt;
    return at === undefined ? now : Math.min(now, at);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw unavailable('the registry was already started');
    this.state = 'starting';
    const ch = this.o.channel;
    this.offs.push(ch.onMessage((m) => this.onMessage(m as unknown as ToWorker)));
    this.offs.push(ch.onClose(() => this.onPrimaryGone()));
    const wait = this.o.startTimeoutMs ?? 10_000;
    const got = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), wait);
      this.snapshotWaiter = (ok) => {
        clearTimeout(t);
        resolve(ok);
      };
      if (!ch.send({ sky: 'registry', op: 'hello' } satisfies ToPrimary)) this.snapshotWaiter(false);
    });
    this.snapshotWaiter = undefined;
    if (!got) {
      throw unavailable(this.primaryGone || ch.closed ? 'the primary process is gone; no registry to mirror' : `no registry snapshot from the primary process within ${wait} ms`);
    }
    if (this.state === 'starting') this.state = 'ready';
    this.o.logger.debug({ services: this.index.size, version: this._version }, 'registry mirrored from the primary');
  }

  // ---- reads: synchronous, from the mirror ----

  get(uuid: string): StoredService | undefined {
    return this.index.get(uuid, this.readNow());
  }
  query(p: ServicePattern): StoredService[] {
    return this.index.query(p, this.readNow());
  }
  first(p: ServicePattern): StoredService | undefined {
    return this.index.first(p, this.o.clock.now());
  }
  list(): StoredService[] {
    return this.index.list(this.readNow());
  }
  countBy(field: 'region' | 'environment'): Record<string, number> {
    return this.index.countBy(field, this.readNow());
  }
  callbacks(): Callback[] {
    return [...this.index.callbackMap.values()];
  }
  onChange(fn: (ev: RegistryEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  isCallbackLeader(): boolean {
    return false;
  }
  onCallbackLeadership(): () => void {
    return () => undefined;
  }

  // ---- writes: requests to the primary ----

  async put(s: Service, opts?: PutOptions): Promise<StoredService> {
    const w = fromWire((await this.request('put', opts?.replace ? [s, { replace: true }] : [s])) as never);
    return this.same(w);
  }
  async refresh(uuid: string, ttl?: number): Promise<StoredService> {
    const w = fromWire((await this.request('refresh', ttl === undefined ? [uuid] : [uuid, ttl])) as never);
    return this.same(w);
  }
  async remove(uuid: string): Promise<StoredService> {
    return fromWire((await this.request('remove', [uuid])) as never);
  }
  async putCallback(cb: Callback): Promise<Callback> {
    return Object.freeze((await this.request('putCallback', [cb])) as Callback);
  }
  async removeCallback(id: string): Promise<Callback> {
    return Object.freeze((await this.request('removeCallback', [id])) as Callback);
  }

  async flush(): Promise<void> {
    if (this.state === 'closed' || this.primaryGone) return;
    await this.request('flush', []);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.o.channel.send({ sky: 'registry', op: 'bye' } satisfies ToPrimary);
    for (const f of this.offs) f();
    this.offs = [];
    this.failAll(new SkyError('SKY_ERR_REGISTRY_CLOSED', 'the registry is closed'));
  }

  // ---- internals ----

  /** The mirror's own record when it is the one the write produced (so get() after put() returns the same object). */
  private same(w: StoredService): StoredService {
    const mine = this.index.getRaw(w.UUID);
    return mine && mine.expiresAt === w.expiresAt && mine.TTL === w.TTL && mine.Port === w.Port && mine.Host === w.Host ? mine : w;
  }

  private request(op: WriteOp, args: unknown[]): Promise<unknown> {
    if (this.state === 'closed') return Promise.reject(new SkyError('SKY_ERR_REGISTRY_CLOSED', 'the registry is closed'));
    if (this.state !== 'ready') return Promise.reject(unavailable('the registry has not been started'));
    if (this.primaryGone) return Promise.reject(unavailable('the primary process that owns the registry is gone'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(unavailable(`the primary process did not answer a registry ${op} within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { op, resolve, reject, timer });
      if (!this.o.channel.send({ sky: 'registry', op, id, args } satisfies ToPrimary)) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(unavailable('the primary process that owns the registry is gone'));
      }
    });
  }

  private onMessage(m: ToWorker): void {
    if (m.sky !== 'registry' || this.state === 'closed') return;
    switch (m.op) {
      case 'snapshot': {
        const index = new MemoryIndex();
        for (const w of m.services) index.set(fromWire(w));
        this.index = index;
        this.setState(m.state);
        this.advance(m.seq);
        this.snapshotWaiter?.(true);
        return;
      }
      case 'event':
        this.applyEvent(m.kind, fromWire(m.service), m.version);
        this.advance(m.seq);
        return;
      case 'state':
        this.setState(m.state);
        this.advance(m.seq);
        return;
      case 'reply': {
        const p = this.pending.get(m.id);
        if (!p) return; // timed out already
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        const settle = (): void => (m.ok ? p.resolve(m.value) : p.reject(errorFromWire(m.error)));
        if (m.seq <= this.applied) settle();
        else this.early.push({ seq: m.seq, run: settle });
        return;
      }
    }
  }

  private setState(s: WireState): void {
    this._version = s.version;
    this.primaryReady = s.ready;
    this.primaryStale = s.staleness && { st: s.staleness, at: Date.now() };
    this.index.callbackMap.clear();
    for (const cb of s.callbacks) this.index.callbackMap.set(uuidKey(cb.UUID), Object.freeze(cb));
  }

  private applyEvent(kind: RegistryEvent['kind'], rec: StoredService, version: number): void {
    if (kind === 'put' || kind === 'refresh') this.index.set(rec);
    else {
      const cur = this.index.getRaw(rec.UUID);
      if (!cur) {
        this._version = version;
        return; // never had it (gone before our snapshot, or hidden from it as expired)
      }
      this.index.delete(rec.UUID);
    }
    this._version = version;
    for (const fn of [...this.listeners]) {
      try {
        fn({ kind, service: rec });
      } catch (err) {
        this.o.logger.error({ err, event: kind }, 'registry change listener threw');
      }
    }
  }

  private advance(seq: number): void {
    if (seq > this.applied) this.applied = seq;
    if (this.early.length === 0) return;
    const due = this.early.filter((e) => e.seq <= this.applied);
    if (due.length === 0) return;
    this.early.splice(0, this.early.length, ...this.early.filter((e) => e.seq > this.applied));
    for (const e of due) e.run();
  }

  private onPrimaryGone(): void {
    if (this.primaryGone) return;
    this.primaryGone = true;
    this.snapshotWaiter?.(false);
    if (this.state !== 'closed') this.o.logger.error('the primary process is gone: registry writes fail; DNS answers from the last copy');
    this.failAll(unavailable('the primary process that owns the registry is gone'));
  }

  private failAll(err: SkyError): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
    for (const e of this.early.splice(0)) e.run();
  }
}
