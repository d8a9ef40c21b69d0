/**
 * The embedded registry (default backend): one process, durable on local disk.
 *
 * Write path. A write checks its precondition against the *effective* state
 * (committed index + an overlay of writes still waiting for their fsync), puts
 * its record in the queue and waits. One writer drains the queue: every record
 * queued meanwhile goes out in one append + one fsync (group commit), then each
 * write is applied to the index, announced, and acknowledged, in order. So the
 * index only ever holds durable state: DNS never answers from a write that a
 * crash could still lose, and a snapshot taken between batches is exact.
 *
 * Expiry is by absolute time: reads hide a record as soon as `expiresAt <= now`.
 * The sweeper, a timer on the injected clock set to the earliest expiry, then
 * logs its removal and emits `expire` (which drives callbacks).
 *
 * A failed append or snapshot leaves the log in an unknown state, so the
 * registry stops accepting writes (SKY_ERR_REGISTRY_IO) and keeps serving reads.
 */
import type { Clock, Timer } from '../clock.js';
import { SkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { GroupCommit } from './group-commit.js';
import { MemoryIndex } from './memory-index.js';
import { DEFAULT_TTL_MAX, DEFAULT_TTL_MIN, uuidKey, validateCallback, validateService, validateTtl, type ValidationOptions } from './names.js';
import { Storage, type DiskService, type LogRecord } from './storage.js';
import { storedService, type Callback, type PutOptions, type Registry, type RegistryEvent, type RegistryEventKind, type Service, type ServicePattern, type StoredService } from './types.js';

export interface EmbeddedOptions {
  /** Directory for the snapshot and the log (created if missing). */
  path: string;
  clock: Clock;
  logger: Logger;
  ttlMin?: number;
  ttlMax?: number;
  /** Log records between snapshots (default 10000). */
  snapshotEvery?: number;
  /** fsync before acknowledging (default true; turn off only for tests or benchmarks). */
  fsync?: boolean;
  /** Zone used for the 255-byte service name check (default skydns.local). */
  zone?: string;
}

/** Longest single sleep of the sweeper (timers cannot wait more than ~24.8 days anyway). */
const MAX_SLEEP_MS = 3_600_000;

function stored(svc: Service, expiresAt: number): StoredService {
  return storedService(svc, expiresAt);
}
function toDisk(s: StoredService): DiskService {
  return { ...s, expiresAt: s.expiresAt === Infinity ? null : s.expiresAt };
}
function fromDisk(d: DiskService): StoredService {
  return stored(d, d.expiresAt ?? Infinity);
}

export class EmbeddedRegistry implements Registry {
  private readonly index = new MemoryIndex();
  private readonly storage: Storage;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly vopts: ValidationOptions;
  private readonly snapshotEvery: number;
  private readonly listeners = new Set<(ev: RegistryEvent) => void>();
  /** Writes accepted but not yet committed, by 's:<uuid>' / 'c:<id>': their value wins over the index. */
  private readonly pending = new Map<string, { value: StoredService | Callback | null; seq: number }>();
  private readonly writer: GroupCommit<LogRecord>;
  private seq = 0;
  private _version = 0;
  private state: 'new' | 'starting' | 'ready' | 'closed' = 'new';
  private timer: Timer | undefined;
  private timerAt = Infinity;

  constructor(opts: EmbeddedOptions) {
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.vopts = { ttlMin: opts.ttlMin ?? DEFAULT_TTL_MIN, ttlMax: opts.ttlMax ?? DEFAULT_TTL_MAX, zone: opts.zone };
    this.snapshotEvery = Math.max(1, opts.snapshotEvery ?? 10000);
    this.storage = new Storage(opts.path, { fsync: opts.fsync ?? true, logger: opts.logger });
    this.writer = new GroupCommit<LogRecord>({
      write: (recs) => this.storage.append(recs),
      afterBatch: async () => {
        if (this.storage.logRecords < this.snapshotEvery) return;
        // Between batches the index holds exactly the durable state.
        await this.storage.snapshot(this.snapshotRecords());
        this.logger.debug({ services: this.index.size }, 'registry snapshot written');
      },
      onFail: (err) => {
        this.pending.clear();
        this.timer?.cancel();
        this.logger.error({ err }, 'registry storage failed; refusing writes until restart');
      },
    });
  }

  get version(): number {
    return this._version;
  }

  ready(): boolean {
    return this.state === 'ready';
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the registry was already started');
    this.state = 'starting';
    await this.storage.open((r) => this.replay(r));
    this.state = 'ready';
    this.logger.info({ path: this.storage.dir, services: this.index.size, callbacks: this.index.callbackMap.size }, 'registry loaded');
    // What expired while we were down goes now, through the normal path (logged, `expire` events).
    this.sweep();
    await this.flush();
  }

  // ---- reads: synchronous, from memory, hiding expired records ----

  get(uuid: string): StoredService | undefined {
    return this.index.get(uuid, this.clock.now());
  }
  query(p: ServicePattern): StoredService[] {
    return this.index.query(p, this.clock.now());
  }
  first(p: ServicePattern): StoredService | undefined {
    return this.index.first(p, this.clock.now());
  }
  list(): StoredService[] {
    return this.index.list(this.clock.now());
  }
  countBy(field: 'region' | 'environment'): Record<string, number> {
    return this.index.countBy(field, this.clock.now());
  }
  callbacks(): Callback[] {
    return [...this.index.callbackMap.values()];
  }

  onChange(fn: (ev: RegistryEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---- writes ----

  async put(s: Service, opts: PutOptions = {}): Promise<StoredService> {
    const svc = validateService(s, this.vopts);
    this.writable();
    const now = this.clock.now();
    const key = uuidKey(svc.UUID);
    const cur = this.effective('s:' + key, this.index.getRaw(key)) as StoredService | undefined;
    if (cur && cur.expiresAt > now && opts.replace !== true) {
      throw new SkyError('SKY_ERR_REGISTRY_EXISTS', `a service with UUID ${svc.UUID} is already registered`, { path: 'UUID' });
    }
    const rec = stored(svc, svc.NoExpire ? Infinity : now + svc.TTL * 1000);
    await this.commit('s:' + key, rec, { op: 'set', s: toDisk(rec) }, () => this.applySet(rec, 'put'));
    return rec;
  }

  async refresh(uuid: string, ttl?: number): Promise<StoredService> {
    if (ttl !== undefined) validateTtl(ttl, this.vopts);
    this.writable();
    const now = this.clock.now();
    const cur = this.live(uuid, now);
    const t = ttl ?? cur.TTL;
    const rec = stored({ ...cur, TTL: t }, cur.expiresAt === Infinity ? Infinity : now + t * 1000);
    await this.commit('s:' + uuidKey(uuid), rec, { op: 'set', s: toDisk(rec) }, () => this.applySet(rec, 'refresh'));
    return rec;
  }

  async remove(uuid: string): Promise<StoredService> {
    this.writable();
    const cur = this.live(uuid, this.clock.now());
    const key = uuidKey(uuid);
    await this.commit('s:' + key, null, { op: 'del', uuid: key }, () => this.applyDelete(key, 'remove'));
    return cur;
  }

  async putCallback(input: Callback): Promise<Callback> {
    const cb = Object.freeze(validateCallback(input));
    this.writable();
    const key = uuidKey(cb.UUID);
    await this.commit('c:' + key, cb, { op: 'cbset', cb }, () => {
      this.index.callbackMap.set(key, cb);
      this._version++;
    });
    return cb;
  }

  async removeCallback(id: string): Promise<Callback> {
    this.writable();
    const key = uuidKey(id);
    const cur = this.effective('c:' + key, this.index.callbackMap.get(key)) as Callback | undefined;
    if (!cur) throw new SkyError('SKY_ERR_REGISTRY_NOT_FOUND', `no callback with UUID ${id}`, { path: 'UUID' });
    await this.commit('c:' + key, null, { op: 'cbdel', id: key }, () => {
      this.index.callbackMap.delete(key);
      this._version++;
    });
    return cur;
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.timer?.cancel();
    this.timer = undefined;
    await this.flush(); // writes accepted before close still complete
    await this.storage.close();
  }

  // ---- internals ----

  private writable(): void {
    if (this.state === 'closed') throw new SkyError('SKY_ERR_REGISTRY_CLOSED', 'the registry is closed');
    if (this.state !== 'ready') throw new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the registry has not been started');
    if (this.writer.failure) throw this.writer.failure;
  }

  private effective(pkey: string, committed: StoredService | Callback | undefined): StoredService | Callback | undefined {
    const p = this.pending.get(pkey);
    return p ? (p.value ?? undefined) : committed;
  }

  private live(uuid: string, now: number): StoredService {
    const key = uuidKey(uuid);
    const cur = this.effective('s:' + key, this.index.getRaw(key)) as StoredService | undefined;
    if (!cur || cur.expiresAt <= now) {
      throw new SkyError('SKY_ERR_REGISTRY_NOT_FOUND', `no live service with UUID ${uuid}`, { path: 'UUID' });
    }
    return cur;
  }

  /** Queues a log record; resolves once it is durable and `apply` has run. */
  private commit(pkey: string, value: StoredService | Callback | null, rec: LogRecord, apply: () => void): Promise<void> {
    const seq = ++this.seq;
    this.pending.set(pkey, { value, seq });
    return this.writer.submit(rec, () => {
      if (this.pending.get(pkey)?.seq === seq) this.pending.delete(pkey);
      apply();
    });
  }

  private snapshotRecords(): LogRecord[] {
    const out: LogRecord[] = [];
    for (const s of this.index.all()) out.push({ op: 'set', s: toDisk(s) });
    for (const cb of this.index.callbackMap.values()) out.push({ op: 'cbset', cb });
    return out;
  }

  private replay(r: LogRecord): void {
    switch (r.op) {
      case 'set': this.index.set(fromDisk(r.s)); break;
      case 'del': this.index.delete(r.uuid); break;
      case 'cbset': this.index.callbackMap.set(uuidKey(r.cb.UUID), Object.freeze(r.cb)); break;
      case 'cbdel': this.index.callbackMap.delete(uuidKey(r.id)); break;
    }
  }

  private applySet(rec: StoredService, kind: RegistryEventKind): void {
    const prev = this.index.getRaw(rec.UUID);
    this.index.set(rec);
    this._version++;
    // A put may replace an expired record the sweeper has not removed yet, or
    // (replace) a live one: that record's removal still counts (callbacks fire
    // for it exactly once), as 'expire' or 'remove'.
    if (kind === 'put' && prev) this.emit({ kind: prev.expiresAt > this.clock.now() ? 'remove' : 'expire', service: prev });
    this.emit({ kind, service: rec });
    this.schedule();
  }

  private applyDelete(key: string, kind: 'remove' | 'expire'): void {
    const prev = this.index.delete(key);
    if (!prev) return;
    this._version++;
    this.emit({ kind, service: prev });
  }

  private emit(ev: RegistryEvent): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(ev);
      } catch (e) {
        this.logger.error({ err: e, event: ev.kind }, 'registry change listener threw');
      }
    }
  }

  /** Removes every record due at the clock's now, then sleeps until the next expiry. */
  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.state !== 'ready' || this.writer.failure) return;
    for (const s of this.index.takeDue(this.clock.now())) {
      const key = uuidKey(s.UUID);
      if (this.pending.has('s:' + key)) continue; // a write in flight decides this record's fate
      this.commit('s:' + key, null, { op: 'del', uuid: key }, () => this.applyDelete(key, 'expire'))
        .catch((e) => this.logger.error({ err: e, uuid: s.UUID }, 'could not log an expiry'));
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.state !== 'ready' || this.writer.failure) return;
    const next = this.index.nextExpiry();
    if (next === undefined || next >= this.timerAt) return;
    this.timer?.cancel();
    const now = this.clock.now();
    const delay = Math.min(Math.max(0, next - now), MAX_SLEEP_MS);
    this.timerAt = now + delay;
    this.timer = this.clock.setTimeout(() => this.sweep(), delay);
  }
}
