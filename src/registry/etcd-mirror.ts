/**
 * The in-memory copy of the etcd prefix that every DNS lookup on this node
 * reads. Sync = list the services and callbacks at one revision R (paged),
 * build a fresh MemoryIndex, swap it in whole, then watch from R+1. The swap
 * is synchronous, so a reader sees either the old copy or the new one, never
 * a half-built one; the events it emits are the difference between the two.
 *
 * Any watch failure (the member went away, the stream broke, or etcd
 * cancelled the watch because R was compacted) starts a new sync, retried
 * with backoff until etcd answers; meanwhile reads keep using the last copy,
 * which still hides records as their absolute expiry passes.
 *
 * Every applied change bumps `version` and is announced: a put of a new
 * registration is `put` (after `expire`/`remove` of the one it replaced), a
 * put with the same `gen` is `refresh`, a delete is `expire` when the record's
 * expiry has passed on this node's clock (the sweeper's or the lease's delete)
 * and `remove` otherwise (a DELETE).
 */
import { performance } from 'node:perf_hooks';
import type { Etcd3, IEvent, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { decodeCallback, decodeService, text, type KeyLayout, type ServiceEntry } from './etcd-codec.js';
import { isTransient, withDeadline, DeadlineError } from './etcd-client.js';
import { rangeAll } from './etcd-range.js';
import { MemoryIndex } from './memory-index.js';
import { uuidKey } from './names.js';
import type { Callback, RegistryEvent, StoredService } from './types.js';

export interface MirrorOptions {
  client: Etcd3;
  keys: KeyLayout;
  clock: Clock;
  logger: Logger;
  zone?: string;
  /** Deadline of each list call. */
  callTimeoutMs: number;
  /** Called with every change, in commit order. */
  emit: (ev: RegistryEvent) => void;
  /** Called after every applied batch or swap (the sweeper reschedules). */
  changed: () => void;
  /** Called with the callback election's keys (key → create_revision) whenever they change. */
  election: (keys: Map<string, number>) => void;
  /** Says why etcd failed, for log lines. */
  describe: (err: unknown) => string;
  /**
   * The copy was in step with etcd at `sentMono` (performance.now()) /
   * `sentAt` (clock): a list that started then was swapped in, or a watch
   * response arrived.
   */
  heard: (sentMono: number, sentAt: number) => void;
}

interface Snapshot {
  rev: number;
  services: Map<string, ServiceEntry>;
  callbacks: Map<string, Callback>;
  election: Map<string, number>;
}

export class EtcdMirror {
  index = new MemoryIndex();
  private entries = new Map<string, ServiceEntry>();
  private election = new Map<string, number>();
  version = 0;
  /** Highest revision applied: every change up to it is in the copy. */
  applied = 0;
  synced = false;
  /** Why the last list failed (cleared by a successful one), and whether etcd was unreachable or without quorum. */
  lastError: { message: string; transient: boolean } | undefined;
  /** The watch is attached (etcd confirmed it) and has not broken since. */
  watchLive = false;
  private watcher: Watcher | undefined;
  private syncing = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private kicked = false;
  private readonly waiters = new Set<{ rev: number; done: (ok: boolean) => void }>();
  private readonly syncedWaiters: Array<() => void> = [];

  constructor(private readonly o: MirrorOptions) {}

  /** Starts syncing in the background; `whenSynced()` resolves after the first full list. */
  start(): void {
    void this.sync('start');
  }

  whenSynced(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncedWaiters.push(r));
  }

  entry(uuid: string): ServiceEntry | undefined {
    return this.entries.get(uuidKey(uuid));
  }

  /** Resolves true once revision `rev` is applied, false after `ms` or on close. */
  waitFor(rev: number, ms: number): Promise<boolean> {
    if (this.applied >= rev) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w = {
        rev,
        done: (ok: boolean) => {
          clearTimeout(t);
          this.waiters.delete(w);
          resolve(ok);
        },
      };
      const t = setTimeout(() => w.done(false), ms);
      this.waiters.add(w);
    });
  }

  /**
   * Cuts short the backoff of a pending re-list (a write or a probe just got
   * through: etcd is back). Said while a list is under way, and that list
   * fails (it began on a dead connection), the next one starts at once.
   */
  retryNow(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Lists again now, whether or not the watch looks healthy (after a partition: it may hold a dead stream). */
  resync(reason: string): void {
    if (this.syncing) this.wake?.();
    else void this.sync(reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    for (const w of [...this.waiters]) w.done(false);
    await this.stopWatch();
  }

  // ---- sync: list, swap, watch ----

  private async sync(reason: string): Promise<void> {
    if (this.syncing || this.closed) return;
    this.syncing = true;
    await this.stopWatch();
    const log = this.o.logger;
    for (let attempt = 0, delay = 250; !this.closed; attempt++, delay = Math.min(delay * 2, 5000)) {
      this.kicked = false;
      try {
        const sentMono = performance.now();
        const sentAt = this.o.clock.now();
        const snap = await this.list();
        if (this.closed) break;
        this.swap(snap);
        this.o.heard(sentMono, sentAt);
        this.watch(snap.rev + 1);
        if (attempt > 0 || reason !== 'start') log.info({ revision: snap.rev, services: this.entries.size, reason }, 'registry mirror synced from etcd');
        break;
      } catch (err) {
        this.lastError = { message: this.o.describe(err), transient: isTransient(err) };
        const msg = `cannot list the registry from etcd (${this.lastError.message}); retrying in ${delay} ms, DNS answers from ${this.synced ? 'the last copy' : 'nothing yet (not ready; names of the zone answer SERVFAIL)'}`;
        if (attempt === 0 || attempt % 10 === 0) log.warn({ attempt, reason }, msg);
        else log.debug({ attempt, reason }, msg);
        if (this.kicked) {
          delay = 125; // etcd answered meanwhile: again now, and the back-off starts over
          continue;
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, delay);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.wake = undefined;
      }
    }
    this.syncing = false;
  }

  private async list(): Promise<Snapshot> {
    const range = (prefix: string, rev: number) => rangeAll(this.o.client, prefix, rev, this.o.callTimeoutMs);
    const s = await range(this.o.keys.services, 0);
    const c = await range(this.o.keys.callbacks, s.rev);
    const el = await range(this.o.keys.election, s.rev);
    const snap: Snapshot = { rev: s.rev, services: new Map(), callbacks: new Map(), election: new Map() };
    for (const kv of el.kvs) snap.election.set(text(kv.key), Number(kv.create_revision));
    for (const kv of s.kvs) {
      const e = this.toEntry(kv);
      if (e) snap.services.set(uuidKey(e.rec.UUID), e);
    }
    for (const kv of c.kvs) {
      const cb = this.toCallback(kv);
      if (cb) snap.callbacks.set(uuidKey(cb.UUID), cb);
    }
    return snap;
  }

  /** Replaces the copy in one step and announces the difference. */
  private swap(snap: Snapshot): void {
    const now = this.o.clock.now();
    const events: RegistryEvent[] = [];
    let changes = 0;
    for (const [id, old] of this.entries) {
      if (snap.services.has(id)) continue;
      events.push(this.gone(old.rec, now));
      changes++;
    }
    for (const [id, e] of snap.services) {
      const old = this.entries.get(id);
      if (old && old.raw === e.raw) continue;
      changes++;
      if (old && old.gen === e.gen) events.push({ kind: 'refresh', service: e.rec });
      else {
        if (old) events.push(this.gone(old.rec, now));
        events.push({ kind: 'put', service: e.rec });
      }
    }
    const cbBefore = JSON.stringify([...this.index.callbackMap]);
    const index = new MemoryIndex();
    for (const e of snap.services.values()) index.set(e.rec);
    for (const [id, cb] of snap.callbacks) index.callbackMap.set(id, cb);
    if (JSON.stringify([...index.callbackMap]) !== cbBefore) changes++;
    this.index = index;
    this.entries = snap.services;
    this.election = snap.election;
    this.version += changes;
    this.synced = true;
    this.lastError = undefined;
    this.advance(snap.rev);
    for (const r of this.syncedWaiters.splice(0)) r();
    for (const ev of events) this.o.emit(ev);
    this.o.election(this.election);
    this.o.changed();
  }

  private watch(from: number): void {
    const w = this.o.client.watch().prefix(this.o.keys.root + '/').startRevision(String(from)).watcher();
    this.watcher = w;
    w.on('connected', () => {
      if (this.watcher === w) this.watchLive = true;
    });
    w.on('data', (res: IWatchResponse) => {
      if (this.watcher !== w) return;
      this.onWatch(res);
      this.o.heard(performance.now(), this.o.clock.now());
    });
    const broken = (why: string) => (err: Error) => {
      if (this.watcher !== w || this.closed) return;
      this.watchLive = false;
      this.o.logger.warn({ err: err.message, revision: this.applied }, `registry watch ${why}; re-listing from etcd`);
      void this.sync(`watch ${why}`);
    };
    w.on('disconnected', broken('disconnected'));
    w.on('error', broken('failed or was compacted'));
  }

  private async stopWatch(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    this.watchLive = false;
    if (w) await withDeadline(w.cancel(), 1000, () => new DeadlineError(1000)).catch(() => undefined);
  }

  // ---- applying watched changes ----

  private onWatch(res: IWatchResponse): void {
    if (res.events.length === 0) {
      this.advance(Number(res.header.revision)); // progress notification: nothing older is pending
      return;
    }
    let rev = this.applied;
    let electionChanged = false;
    for (const ev of res.events) {
      const key = text(ev.kv.key);
      if (key.startsWith(this.o.keys.election)) {
        if (ev.type === 'Put') this.election.set(key, Number(ev.kv.create_revision));
        else this.election.delete(key);
        electionChanged = true;
      } else this.apply(ev);
      rev = Math.max(rev, Number(ev.kv.mod_revision));
    }
    this.advance(rev);
    if (electionChanged) this.o.election(this.election);
    this.o.changed();
  }

  private apply(ev: IEvent): void {
    const key = text(ev.kv.key);
    const { services, callbacks } = this.o.keys;
    if (key.startsWith(services)) {
      const id = key.slice(services.length);
      const e = ev.type === 'Put' ? this.toEntry(ev.kv) : undefined;
      if (e && uuidKey(e.rec.UUID) === id) this.putEntry(id, e);
      else this.deleteEntry(id);
    } else if (key.startsWith(callbacks)) {
      const id = key.slice(callbacks.length);
      const cb = ev.type === 'Put' ? this.toCallback(ev.kv) : undefined;
      if (cb && uuidKey(cb.UUID) === id) this.index.callbackMap.set(id, cb);
      else if (!this.index.callbackMap.delete(id)) return;
      this.version++;
    }
  }

  private putEntry(id: string, e: ServiceEntry): void {
    const prev = this.entries.get(id);
    this.entries.set(id, e);
    this.index.set(e.rec);
    this.version++;
    if (prev && prev.gen === e.gen) {
      this.o.emit({ kind: 'refresh', service: e.rec });
      return;
    }
    if (prev) this.o.emit(this.gone(prev.rec, this.o.clock.now()));
    this.o.emit({ kind: 'put', service: e.rec });
  }

  private deleteEntry(id: string): void {
    const prev = this.entries.get(id);
    if (!prev) return;
    this.entries.delete(id);
    this.index.delete(id);
    this.version++;
    this.o.emit(this.gone(prev.rec, this.o.clock.now()));
  }

  private gone(rec: StoredService, now: number): RegistryEvent {
    return { kind: rec.expiresAt <= now ? 'expire' : 'remove', service: rec };
  }

  private advance(rev: number): void {
    if (rev > this.applied) this.applied = rev;
    for (const w of [...this.waiters]) if (w.rev <= this.applied) w.done(true);
  }

  private toEntry(kv: IKeyValue): ServiceEntry | undefined {
    const raw = text(kv.value);
    const d = decodeService(raw, this.o.zone);
    if (!d) {
      this.o.logger.warn({ key: text(kv.key) }, 'ignoring a value under the services prefix that is not a SkyDNS service');
      return undefined;
    }
    return { rec: d.rec, gen: d.gen, mod: Number(kv.mod_revision), lease: kv.lease || '0', raw };
  }

  private toCallback(kv: IKeyValue): Callback | undefined {
    const cb = decodeCallback(text(kv.value));
    if (!cb) this.o.logger.warn({ key: text(kv.key) }, 'ignoring a value under the callbacks prefix that is not a SkyDNS callback');
    return cb;
  }
}
