/**
 * The etcd registry (backend `etcd`): for clusters of SkyDNS nodes. etcd is
 * the Raft engine; each node is stateless and keeps an EtcdMirror of the
 * prefix that every read uses (DNS never waits on etcd).
 *
 * Writes: any node accepts them. Each is a conditional etcd transaction
 * (etcd-txn.ts), serialised per key on this node, and resolves once etcd has
 * committed it AND this node's mirror has applied it (read-your-writes). A
 * registration with a TTL holds an etcd lease of that TTL; a heartbeat keeps
 * the lease alive (or replaces it when the TTL changes) and stores the new
 * absolute expiry. Each etcd call has a deadline (`callTimeoutMs`), within
 * which tries that found no leader or no member are repeated (etcd-client.ts),
 * so a write rides through an etcd leader change. etcd unreachable or without
 * quorum: writes reject with SKY_ERR_REGISTRY_UNAVAILABLE (the API's 503) and a
 * message that says so; reads go on from the mirror.
 *
 * Expiry: reads hide a record once `expiresAt <= clock.now()`. The sweeper (a
 * timer on the injected clock) then deletes it from etcd with a compare on its
 * mod_revision, so of all the nodes that try, one succeeds; every node's
 * mirror then announces `expire`. The lease is the backstop that removes
 * records when no SkyDNS node is running.
 *
 * Cut off: every member is probed once a second (etcd-contact.ts); a node
 * that has not heard from etcd for `staleAfterMs` cannot vouch for its copy
 * (vouches() false: the zone plugins answer SERVFAIL instead of denying a
 * name; with `stale: "serve"` reads keep records that expired since), resets
 * its connections and re-lists, and lists again at once when a probe gets
 * through (etcd-vouching.ts, freshness.ts). The 503 of a refused write says
 * whether this node cannot reach etcd or the members have no leader.
 *
 * Start: `start()` resolves once the first full list is in, or after
 * `dialTimeoutMs` without one; the node then keeps retrying with backoff (and
 * logs it), `ready()` stays false, writes are refused and, with nothing to
 * vouch for, the zone answers SERVFAIL until the list arrives.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Etcd3 } from 'etcd3';
import type { Clock } from '../clock.js';
import { SkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { connect, DeadlineError, LinkTiming, loadEtcd, readTls, unavailable, withDeadline, type EtcdConnection } from './etcd-client.js';
import { callbackKey, decodeCallback, encodeService, decodeService, keyLayout, serviceKey, type KeyLayout } from './etcd-codec.js';
import { CallbackElection, type CallbackLeadership } from './etcd-election.js';
import { EtcdContact } from './etcd-contact.js';
import { EtcdMirror } from './etcd-mirror.js';
import { EtcdVouching } from './etcd-vouching.js';
import type { StaleMode } from './freshness.js';
import { EtcdSweeper } from './etcd-sweeper.js';
import type { MirrorStatus } from './metrics.js';
import { ABSENT, casLoop, KeyedLock, type KeyState } from './etcd-txn.js';
import { EtcdLeases } from './etcd-leases.js';
import { DEFAULT_TTL_MAX, DEFAULT_TTL_MIN, validateCallback, validateService, validateTtl, type ValidationOptions } from './names.js';
import { storedService, type Callback, type PutOptions, type Registry, type RegistryEvent, type Service, type ServicePattern, type Staleness, type StoredService } from './types.js';

export interface EtcdOptions {
  endpoints: string[];
  /** Key prefix (default /skydns). */
  prefix?: string;
  /** PEM file paths (absolute: the factory resolves them). */
  tls?: { ca?: string; cert?: string; key?: string };
  auth?: { username: string; password: string };
  /** How long start() waits for the first full list (default 5000). */
  dialTimeoutMs?: number;
  /** Deadline of each etcd call (default 3000). */
  callTimeoutMs?: number;
  clock: Clock;
  logger: Logger;
  ttlMin?: number;
  ttlMax?: number;
  zone?: string;
  /** Lease TTL of the callback election, seconds (default 5). */
  electionTtl?: number;
  /** How often every etcd member is probed (default 1000). */
  probeIntervalMs?: number;
  /** Without news from etcd for longer than this the node cannot vouch for its copy (default 3000). */
  staleAfterMs?: number;
  /** What a node that cannot vouch does with records that expire meanwhile (default "serve"). */
  stale?: StaleMode;
  /** How long past its expiry such a record is still served, seconds (default 86400). */
  maxStaleSeconds?: number;
}

const stored = (s: Service, expiresAt: number): StoredService => storedService(s, expiresAt);
const notFound = (what: string, id: string): SkyError => new SkyError('SKY_ERR_REGISTRY_NOT_FOUND', `no ${what} with UUID ${id}`, { path: 'UUID' });

export class EtcdRegistry implements Registry, CallbackLeadership, MirrorStatus {
  private readonly keys: KeyLayout;
  private readonly conn: EtcdConnection;
  private readonly vopts: ValidationOptions;
  private readonly listeners = new Set<(ev: RegistryEvent) => void>();
  private readonly locks = new KeyedLock();
  private readonly inflight = new Set<Promise<unknown>>();
  private client: Etcd3 | undefined;
  private mirror: EtcdMirror | undefined;
  private leases: EtcdLeases | undefined;
  private election: CallbackElection | undefined;
  private state: 'new' | 'started' | 'closed' = 'new';
  private lastWrite = 0;
  private sweeper: EtcdSweeper | undefined;
  private readonly vouching: EtcdVouching;

  constructor(private readonly o: EtcdOptions) {
    if (o.endpoints.length === 0) throw new SkyError('SKY_ERR_CONFIG_INVALID', 'registry.endpoints needs at least one etcd endpoint', { path: 'registry.endpoints' });
    this.keys = keyLayout(o.prefix ?? '/skydns');
    this.vopts = { ttlMin: o.ttlMin ?? DEFAULT_TTL_MIN, ttlMax: o.ttlMax ?? DEFAULT_TTL_MAX, zone: o.zone };
    const timing = new LinkTiming();
    this.conn = {
      endpoints: o.endpoints, tls: o.tls && readTls(o.tls), auth: o.auth, callTimeoutMs: o.callTimeoutMs ?? 3000,
      timing, explain: () => this.vouching.explain(),
    };
    this.vouching = new EtcdVouching({
      staleAfterMs: o.staleAfterMs ?? 3000, mode: o.stale ?? 'serve', maxStaleMs: (o.maxStaleSeconds ?? 86400) * 1000, clock: o.clock, logger: o.logger, timing,
      live: () => (this.state === 'started' && this.mirror && this.client ? { mirror: this.mirror, client: this.client } : undefined),
    });
  }

  /** Moves with every change of the copy and whenever the node starts or stops vouching for it. */
  get version(): number {
    return (this.mirror?.version ?? 0) + this.vouching.flips;
  }

  /** False while this node has not heard from etcd for `staleAfterMs` (etcd-vouching.ts). */
  vouches(): boolean {
    return this.vouching.vouches();
  }

  staleness(): Staleness {
    return this.vouching.staleness();
  }

  ready(): boolean {
    return this.state === 'started' && (this.mirror?.synced ?? false);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the registry was already started');
    await loadEtcd();
    this.state = 'started';
    const client = (this.client = connect(this.conn));
    const log = this.o.logger;
    this.leases = new EtcdLeases(client, (p, what) => this.call(p, what), this.conn.callTimeoutMs);
    this.mirror = new EtcdMirror({
      client, keys: this.keys, clock: this.o.clock, logger: log, zone: this.o.zone, callTimeoutMs: this.conn.callTimeoutMs,
      emit: (ev) => this.emit(ev),
      changed: () => this.sweeper?.schedule(),
      election: (keys) => this.election?.evaluate(keys),
      describe: (err) => unavailable(err, 'list the registry', this.conn).message,
      heard: (mono, at) => this.vouching.heard(mono, at),
    });
    this.sweeper = new EtcdSweeper({
      clock: this.o.clock, logger: log, keys: this.keys, client, leases: this.leases,
      mirror: () => this.mirror,
      call: (p, what) => this.call(p, what),
      submit: (key, fn) => this.track(this.locks.run(key, fn)),
      applied: (m, rev) => this.applied(m, rev),
    });
    this.mirror.start();
    this.startContact();
    const node = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.election = new CallbackElection(client, this.keys.election, node, this.o.electionTtl ?? 5, log, (p) => this.call(p, 'campaign for callbacks'));
    this.election.start();
    const wait = this.o.dialTimeoutMs ?? 5000;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.mirror.whenSynced(), new Promise((r) => (t = setTimeout(r, wait)))]);
    clearTimeout(t);
    if (this.mirror.synced) {
      log.info({ endpoints: this.conn.endpoints, prefix: this.keys.root, services: this.mirror.index.size }, 'registry mirror loaded from etcd');
    } else {
      log.warn({ endpoints: this.conn.endpoints }, `no full list from etcd within ${wait} ms; still retrying in the background: not ready, writes refused and names of the zone answer SERVFAIL until it arrives (this node has nothing to vouch for)`);
    }
  }

  // ---- reads: synchronous, from the mirror ----

  get(uuid: string): StoredService | undefined {
    return this.mirror?.index.get(uuid, this.vouching.readNow());
  }
  query(p: ServicePattern): StoredService[] {
    return this.mirror?.index.query(p, this.vouching.readNow()) ?? [];
  }
  first(p: ServicePattern): StoredService | undefined {
    return this.mirror?.index.first(p, this.o.clock.now());
  }
  list(): StoredService[] {
    return this.mirror?.index.list(this.vouching.readNow()) ?? [];
  }
  countBy(field: 'region' | 'environment'): Record<string, number> {
    return this.mirror?.index.countBy(field, this.vouching.readNow()) ?? {};
  }
  callbacks(): Callback[] {
    return [...(this.mirror?.index.callbackMap.values() ?? [])];
  }
  onChange(fn: (ev: RegistryEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  /** MirrorStatus (metrics): real seconds since this node last heard from etcd (its copy was in step then). */
  mirrorLagSeconds(): number | undefined {
    if (!this.mirror?.synced) return undefined;
    return this.vouching.lagSeconds();
  }
  isCallbackLeader(): boolean {
    return this.election?.isLeader() ?? false;
  }
  onCallbackLeadership(fn: (leader: boolean) => void): () => void {
    if (!this.election) throw new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the registry has not been started');
    return this.election.onChange(fn);
  }

  // ---- writes ----

  async put(s: Service, opts: PutOptions = {}): Promise<StoredService> {
    const svc = validateService(s, this.vopts);
    return this.write(serviceKey(this.keys, svc.UUID), async (key, m, leases) => {
      const now = this.o.clock.now();
      const rec = stored(svc, svc.NoExpire ? Infinity : now + svc.TTL * 1000);
      const gen = randomUUID();
      const value = encodeService(rec, gen);
      let lease: string | undefined;
      try {
        // The result: the lease of an expired record this registration replaces ('0' if none).
        const r = await casLoop<string>(this.client!, (p) => this.call(p, `register ${svc.UUID}`), key, this.guess(svc.UUID), async (cur) => {
          const d = cur.raw === undefined ? undefined : decodeService(cur.raw, this.o.zone);
          // replace: the live record's lease is revoked below, like an expired one's.
          if (d && d.rec.expiresAt > now && opts.replace !== true) return { reject: new SkyError('SKY_ERR_REGISTRY_EXISTS', `a service with UUID ${svc.UUID} is already registered`, { path: 'UUID' }) };
          if (!svc.NoExpire) lease ??= await leases.grant(svc.TTL, svc.UUID);
          return { ops: [{ request_put: { key: Buffer.from(key), value: Buffer.from(value), lease: lease ?? '0' } }], result: cur.lease, value };
        });
        if (r.result !== '0' && r.result !== lease) leases.revokeLater(r.result);
        await this.applied(m, r.revision);
      } catch (err) {
        if (lease) leases.revokeLater(lease);
        throw err;
      }
      const e = m.entry(svc.UUID);
      return e && e.gen === gen ? e.rec : rec;
    });
  }

  async refresh(uuid: string, ttl?: number): Promise<StoredService> {
    if (ttl !== undefined) validateTtl(ttl, this.vopts);
    return this.write(serviceKey(this.keys, uuid), async (key, m, leases) => {
      const now = this.o.clock.now();
      let fresh: string | undefined;
      const r = await casLoop<{ rec: StoredService; gen: string; old: string; lease: string }>(this.client!, (p) => this.call(p, `refresh ${uuid}`), key, this.guess(uuid), async (cur) => {
        const d = cur.raw === undefined ? undefined : decodeService(cur.raw, this.o.zone);
        if (!d || d.rec.expiresAt <= now) return { reject: notFound('live service', uuid) };
        const t = ttl ?? d.rec.TTL;
        const rec = stored({ ...d.rec, TTL: t }, d.rec.expiresAt === Infinity ? Infinity : now + t * 1000);
        let lease = '0';
        if (rec.expiresAt !== Infinity) {
          // Same TTL: keep the lease alive. New TTL (or a lease gone already): a new lease.
          if (t === d.rec.TTL && cur.lease !== '0' && (await leases.keepAlive(cur.lease, uuid))) lease = cur.lease;
          else lease = fresh ??= await leases.grant(t, uuid);
        }
        const value = encodeService(rec, d.gen);
        return { ops: [{ request_put: { key: Buffer.from(key), value: Buffer.from(value), lease } }], result: { rec, gen: d.gen, old: cur.lease, lease }, value };
      });
      const { rec, gen, old, lease } = r.result;
      if (old !== '0' && old !== lease) leases.revokeLater(old);
      if (fresh && fresh !== lease) leases.revokeLater(fresh);
      await this.applied(m, r.revision);
      const e = m.entry(uuid);
      return e && e.gen === gen && e.rec.expiresAt === rec.expiresAt ? e.rec : rec;
    });
  }

  async remove(uuid: string): Promise<StoredService> {
    return this.write(serviceKey(this.keys, uuid), async (key, m, leases) => {
      const now = this.o.clock.now();
      const r = await casLoop<{ rec: StoredService; lease: string }>(this.client!, (p) => this.call(p, `remove ${uuid}`), key, this.guess(uuid), (cur) => {
        const d = cur.raw === undefined ? undefined : decodeService(cur.raw, this.o.zone);
        if (!d || d.rec.expiresAt <= now) return { reject: notFound('live service', uuid) };
        return { ops: [{ request_delete_range: { key: Buffer.from(key) } }], result: { rec: d.rec, lease: cur.lease } };
      });
      if (r.result.lease !== '0') leases.revokeLater(r.result.lease);
      await this.applied(m, r.revision);
      return r.result.rec;
    });
  }

  async putCallback(input: Callback): Promise<Callback> {
    const cb = Object.freeze(validateCallback(input));
    return this.write(callbackKey(this.keys, cb.UUID), async (key, m) => {
      const res = await this.call(this.client!.kv.put({ key: Buffer.from(key), value: Buffer.from(JSON.stringify(cb)) }), `store callback ${cb.UUID}`);
      await this.applied(m, Number(res.header.revision));
      return cb;
    });
  }

  async removeCallback(id: string): Promise<Callback> {
    return this.write(callbackKey(this.keys, id), async (key, m) => {
      const res = await this.call(this.client!.kv.deleteRange({ key: Buffer.from(key), prev_kv: true }), `remove callback ${id}`);
      const prev = res.prev_kvs[0] && decodeCallback(res.prev_kvs[0].value.toString('utf8'));
      if (res.prev_kvs.length) await this.applied(m, Number(res.header.revision));
      if (!prev) throw notFound('callback', id);
      return prev;
    });
  }

  async flush(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    if (this.mirror && this.lastWrite > this.mirror.applied) await this.mirror.waitFor(this.lastWrite, this.conn.callTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const started = this.state === 'started';
    this.state = 'closed';
    this.sweeper?.stop();
    this.vouching.stop();
    if (!started) return;
    await this.flush();
    await this.election?.close(this.conn.callTimeoutMs);
    await this.mirror?.close();
    this.leases?.close();
    this.client?.close();
  }

  // ---- internals ----

  /** Probes every member on connections of its own (etcd-contact.ts). */
  private startContact(): void {
    const v = this.vouching;
    v.start(new EtcdContact({
      endpoints: this.conn.endpoints, clock: this.o.clock, timing: this.conn.timing!,
      dial: (i, timeoutMs) => connect({ ...this.conn, endpoints: [this.conn.endpoints[i]!] }, timeoutMs),
      intervalMs: this.o.probeIntervalMs ?? 1000, maxTimeoutMs: this.conn.callTimeoutMs,
      onContact: (mono, at) => v.probed(mono, at),
      onRound: () => v.round(),
    }));
  }

  /** Runs a write: refused unless started and synced; serialised per key; tracked for flush(). */
  private write<T>(key: string, fn: (key: string, m: EtcdMirror, leases: EtcdLeases) => Promise<T>): Promise<T> {
    if (this.state === 'closed') return Promise.reject(new SkyError('SKY_ERR_REGISTRY_CLOSED', 'the registry is closed'));
    if (this.state !== 'started') return Promise.reject(new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the registry has not been started'));
    const m = this.mirror!;
    if (!m.synced) {
      const e = m.lastError;
      const known = this.vouching.explain();
      if (known) return Promise.reject(new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', `${known}; the registry has not synced with etcd yet (still retrying)`));
      const head = !e || e.transient ? 'the registry has no quorum: it' : 'the registry';
      return Promise.reject(new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', `${head} has not synced with etcd at ${this.conn.endpoints.join(', ')} yet (still retrying${e ? `; last try: ${e.message}` : ''})`));
    }
    const p = this.locks.run(key, () => fn(key, m, this.leases!));
    this.track(p);
    return p;
  }

  private track(p: Promise<unknown>): void {
    const t = p.then(() => undefined, () => undefined).finally(() => this.inflight.delete(t));
    this.inflight.add(t);
  }

  /** An etcd call under the deadline, its failure mapped to SKY_ERR_REGISTRY_UNAVAILABLE. */
  private async call<R>(p: Promise<R>, what: string): Promise<R> {
    try {
      return await withDeadline(p, this.conn.callTimeoutMs, () => new DeadlineError(this.conn.callTimeoutMs));
    } catch (err) {
      p.catch(() => undefined);
      throw unavailable(err, what, this.conn);
    }
  }

  private guess(uuid: string): KeyState {
    const e = this.mirror?.entry(uuid);
    return e ? { mod: e.mod, raw: e.raw, lease: e.lease } : ABSENT;
  }

  /** Waits until this node's mirror shows the write (committed either way: a slow watch only delays it). */
  private async applied(m: EtcdMirror, rev: number): Promise<void> {
    if (rev > this.lastWrite) this.lastWrite = rev;
    if (m.applied < rev) m.retryNow();
    if (!(await m.waitFor(rev, this.conn.callTimeoutMs)) && this.state !== 'closed') {
      this.o.logger.warn({ revision: rev, applied: m.applied }, 'a committed write is not in this node\'s mirror yet (watch lagging or re-listing)');
    }
  }

  private emit(ev: RegistryEvent): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(ev);
      } catch (e) {
        this.o.logger.error({ err: e, event: ev.kind }, 'registry change listener threw');
      }
    }
  }
}
