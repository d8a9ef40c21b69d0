/**
 * The etcd backend against a real single-member etcd on loopback: the shared
 * registry contract, then what only a shared store shows: two nodes on one
 * prefix, re-listing after a broken or compacted watch, the lease as the
 * backstop of expiry, the callback election, foreign values under the prefix.
 * Failures (etcd down at start, quorum lost) are in etcd-failures.test.ts.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { ManualClock, type Clock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { EtcdCluster, etcdSkip, until } from '../testing/etcd.js';
import { registryContract, rejectsWith, svc } from './contract.test-suite.js';
import { connect, loadEtcd } from './etcd-client.js';
import { EtcdRegistry, type EtcdOptions } from './etcd.js';
import type { RegistryEvent } from './types.js';

const TESTS = ['registry contract: etcd (14 tests)', 'two nodes on one prefix', 're-list after a broken/compacted watch', 'lease removes an unswept registration', 'heartbeat leases', 'callback election', 'foreign values under the prefix'];
const skip = etcdSkip('src/registry/etcd.test.js', TESTS);

let cluster: EtcdCluster | undefined;
let raw: Etcd3 | undefined;
let n = 0;
/** Every registry a test opened: closed after each test even when it failed half-way. */
const opened: EtcdRegistry[] = [];

async function etcdUp(): Promise<EtcdCluster> {
  if (!cluster) {
    cluster = await EtcdCluster.start(1);
    await loadEtcd();
    raw = connect({ endpoints: cluster.endpoints, callTimeoutMs: 5000 });
  }
  return cluster;
}

async function open(clock: Clock, extra: Partial<EtcdOptions> = {}): Promise<EtcdRegistry> {
  const c = await etcdUp();
  const r = new EtcdRegistry({ endpoints: c.endpoints, prefix: `/t${process.pid}-${n++}`, clock, logger: silentLogger, ...extra });
  opened.push(r);
  await r.start();
  return r;
}

/** A clock whose time is set by hand and whose timers never fire (a node that never sweeps). */
class FrozenClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  setTimeout(): { cancel(): void } {
    return { cancel: () => undefined };
  }
}

after(async () => {
  raw?.close();
  await cluster?.stop();
});

describe('etcd registry', () => {
  before(async () => {
    if (!skip) await etcdUp();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((r) => r.close()));
  });

  if (skip) it('registry contract: etcd (the shared suite)', { skip }, () => undefined);
  else registryContract('etcd', (clock) => open(clock));

  it('two nodes on one prefix see each other\'s writes, with events', { skip }, async () => {
    const clock = new ManualClock();
    const a = await open(clock);
    const b = await open(clock, { prefix: (a as unknown as { keys: { root: string } }).keys.root });
    const seen: string[] = [];
    b.onChange((e) => seen.push(`${e.kind}:${e.service.UUID}`));
    const s = await a.put(svc({ UUID: 'x' }));
    await until('b sees x', () => b.get('x') !== undefined);
    assert.deepEqual(b.get('x'), s);
    await b.refresh('x', 60);
    assert.equal(b.get('x')?.TTL, 60, 'the writing node reads its own write at once');
    await until('a sees the refresh', () => a.get('x')?.TTL === 60);
    await rejectsWith(b.put(svc({ UUID: 'x' })), 'SKY_ERR_REGISTRY_EXISTS');
    await a.putCallback({ UUID: 'cb', Name: 'web', Reply: '127.0.0.1', Port: 9 });
    await a.remove('x');
    await until('b sees the removal', () => b.get('x') === undefined && b.callbacks().length === 1);
    assert.deepEqual(seen, ['put:x', 'refresh:x', 'remove:x']);
    assert.equal(a.version, b.version);
    await a.close();
    await b.close();
  });

  it('re-lists after a broken watch: the difference is announced and swapped in at once', { skip }, async () => {
    const clock = new ManualClock();
    const a = await open(clock);
    const root = (a as unknown as { keys: { root: string } }).keys.root;
    await a.put(svc({ UUID: 'stay' }));
    await a.put(svc({ UUID: 'gone' }));
    await a.put(svc({ UUID: 'beat', TTL: 30 }));
    const b = await open(clock, { prefix: root });
    const mirror = (b as unknown as { mirror: { stopWatch(): Promise<void>; sync(r: string): Promise<void>; watch(rev: number): void; applied: number } }).mirror;
    await mirror.stopWatch(); // b hears nothing from here on
    const rev = mirror.applied;
    await a.put(svc({ UUID: 'new' }));
    await a.remove('gone');
    await a.refresh('beat', 90);
    const v = b.version;
    const seen: RegistryEvent[] = [];
    b.onChange((e) => seen.push(e));
    assert.ok(b.get('gone'), 'stale until the re-list');
    // Compact past b's revision, then resume b's watch from it: etcd cancels the watch.
    const cur = await raw!.kv.range({ key: Buffer.from('/') });
    await raw!.kv.compact({ revision: cur.header.revision, physical: true });
    mirror.watch(rev + 1);
    await until('b re-listed', () => b.get('new') !== undefined);
    assert.equal(b.get('gone'), undefined);
    assert.equal(b.get('beat')?.TTL, 90);
    assert.deepEqual(seen.map((e) => `${e.kind}:${e.service.UUID}`).sort(), ['put:new', 'refresh:beat', 'remove:gone']);
    assert.equal(b.version, v + 3);
    await a.put(svc({ UUID: 'after' }));
    await until('b watches again', () => b.get('after') !== undefined);
    await a.close();
    await b.close();
  });

  it('the lease removes a registration no node sweeps; the mirror announces expire', { skip }, async () => {
    const clock = new FrozenClock(Date.UTC(2026, 0, 1));
    const a = await open(clock);
    const seen: RegistryEvent[] = [];
    a.onChange((e) => seen.push(e));
    const s = await a.put(svc({ UUID: 'short', TTL: 1 }));
    const lease = (a as unknown as { mirror: { entry(u: string): { lease: string } } }).mirror.entry('short')!.lease;
    assert.notEqual(lease, '0');
    clock.t += 1000; // expired on this node's clock: hidden at once, and the sweeper never runs
    assert.equal(a.get('short'), undefined);
    await until('etcd revokes the lease', () => seen.length === 2, 30_000);
    assert.deepEqual(seen.map((e) => e.kind), ['put', 'expire']);
    assert.deepEqual(seen[1]!.service, s);
    const left = await raw!.kv.range({ key: Buffer.from(`${(a as unknown as { keys: { services: string } }).keys.services}short`) });
    assert.equal(left.kvs.length, 0);
    await a.close();
  });

  it('a heartbeat with a new TTL moves the record to a new lease; NoExpire has none', { skip }, async () => {
    const a = await open(new ManualClock());
    const m = (a as unknown as { mirror: { entry(u: string): { lease: string } } }).mirror;
    await a.put(svc({ UUID: 'l', TTL: 30 }));
    const first = m.entry('l')!.lease;
    await a.refresh('l');
    assert.equal(m.entry('l')!.lease, first, 'same TTL: the lease is kept alive');
    await a.refresh('l', 40);
    assert.notEqual(m.entry('l')!.lease, first);
    const ttl = await raw!.leaseClient.leaseTimeToLive({ ID: m.entry('l')!.lease });
    assert.ok(Number(ttl.grantedTTL) >= 40);
    await until('the old lease is revoked', async () => Number((await raw!.leaseClient.leaseTimeToLive({ ID: first })).TTL) <= 0);
    await a.put({ ...svc({ UUID: 'forever' }), NoExpire: true });
    assert.equal(m.entry('forever')!.lease, '0');
    await a.close();
  });

  it('elects exactly one node to fire callbacks; leadership moves when it stops', { skip }, async () => {
    const clock = new ManualClock();
    const a = await open(clock);
    const b = await open(clock, { prefix: (a as unknown as { keys: { root: string } }).keys.root });
    await until('a leader', () => a.isCallbackLeader() || b.isCallbackLeader());
    const [leader, other] = a.isCallbackLeader() ? [a, b] : [b, a];
    assert.equal(other.isCallbackLeader(), false);
    const flips: boolean[] = [];
    other.onCallbackLeadership((l) => flips.push(l));
    await leader.close();
    await until('the other node takes over', () => other.isCallbackLeader());
    assert.deepEqual(flips, [true]);
    await other.close();
    assert.equal(other.isCallbackLeader(), false);
  });

  it('moves callback leadership when the leader dies (its lease runs out)', { skip }, async () => {
    const clock = new ManualClock();
    const a = await open(clock, { electionTtl: 2 });
    const b = await open(clock, { electionTtl: 2, prefix: (a as unknown as { keys: { root: string } }).keys.root });
    await until('a leader', () => a.isCallbackLeader() || b.isCallbackLeader());
    const [leader, other] = a.isCallbackLeader() ? [a, b] : [b, a];
    // A crash, as etcd sees it: the keepalives stop and nothing is revoked.
    (leader as unknown as { election: { lease: { release(): void } } }).election.lease.release();
    await until('the other node is elected once the dead lease expires', () => other.isCallbackLeader(), 30_000);
    assert.equal(leader.isCallbackLeader(), false, 'the cut-off node stepped down (no keepalive for a TTL)');
  });

  it('lists a registry larger than one page (500 keys) at one revision', { skip }, async () => {
    const a = await open(new ManualClock());
    const keys = (a as unknown as { keys: { root: string; services: string } }).keys;
    const value = (i: number) => Buffer.from(JSON.stringify({ service: { ...svc({ UUID: `p${i}`, Host: `10.3.${i >> 8}.${i & 255}` }), NoExpire: true }, expiresAt: null, gen: 'g' }));
    for (let b = 0; b < 1200; b += 120) {
      const ops = Array.from({ length: 120 }, (_, j) => ({ request_put: { key: Buffer.from(`${keys.services}p${b + j}`), value: value(b + j) } }));
      await raw!.kv.txn({ success: ops });
    }
    const b = await open(new ManualClock(), { prefix: keys.root });
    assert.equal(b.list().length, 1200);
    assert.ok(b.get('p1199'));
    await until('a sees them too', () => a.list().length === 1200);
  });

  it('ignores values under the prefix that are not SkyDNS records', { skip }, async () => {
    const a = await open(new ManualClock());
    const keys = (a as unknown as { keys: { services: string; callbacks: string } }).keys;
    await raw!.kv.put({ key: Buffer.from(`${keys.services}junk`), value: Buffer.from('not json') });
    await raw!.kv.put({ key: Buffer.from(`${keys.services}other`), value: Buffer.from(JSON.stringify({ service: svc({ UUID: 'mismatch' }), expiresAt: Date.UTC(2099, 0, 1), gen: 'g' })) });
    await raw!.kv.put({ key: Buffer.from(`${keys.callbacks}bad`), value: Buffer.from('{}') });
    await a.put(svc({ UUID: 'real' }));
    assert.deepEqual(a.list().map((s) => s.UUID), ['real']);
    assert.deepEqual(a.callbacks(), []);
    await a.close();
  });
});
