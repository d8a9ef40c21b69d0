/**
 * The pool of upstream UDP sockets, against a real UDP upstream on loopback:
 * many queries in flight on few sockets, IDs unique in flight, forged replies
 * discarded, rotation with queries still in flight, ICMP errors, stop(), and
 * no socket left open.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { isSkyError } from '../../src/errors.js';
import { Metrics } from '../../src/metrics.js';
import { nativeOpenSockets } from '../../src/server/udp/native.js';
import { expectReply, runPlugin, setupPlugin } from '../../src/testing/harness.js';
import type { Forwarder } from './forward.js';
import { A, RECORDS, forwardFixture } from './forward-fixture.js';
import forward from './index.js';
import { buildProbeQuery } from './message.js';
import type { UpstreamError } from './udp.js';

const FORGED = '203.0.113.66';

// maxConcurrent 0: no limit, the pool itself is under test.
const { upstream, fwd } = forwardFixture({ maxConcurrent: 0 });

/** Distinct questions, so every reply can be checked against its own query. */
const names = (n: number) => Array.from({ length: n }, (_, i) => `q${i}.example.org`);

/** Lets pending socket events run until `cond` holds (bounded). */
async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition not reached');
}

/** UDP sockets open in this process: node:dgram's handles and the native path's. */
const udpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length + nativeOpenSockets();

test('many queries in flight share the few sockets of the pool, each on its own source port', async () => {
  const up = await upstream();
  const { p } = await fwd({ to: [up.address], udpSockets: 3 });
  // 150 at once (distinct questions: identical ones would share one query), few enough
  // that the test upstream's receive buffer (about 250 small datagrams) does not overflow.
  const replies = await Promise.all(names(150).map((name) => runPlugin(p, { name, type: 'A' })));
  for (const r of replies) expectReply(r, { rcode: 'NXDOMAIN' });
  assert.equal(up.queries.length, 150);
  const ports = new Set(up.queries.map((q) => q.remote.port));
  assert.equal(ports.size, 3, 'three source ports for 150 queries');
  const pool = p.upstreams[0]!.udp;
  assert.equal(pool.opened, 3);
  assert.equal(pool.size, 3);
  assert.equal(p.stats.discarded, 0);
});

test('IDs are never reused among the queries in flight on one socket, and each reply reaches its own query', async () => {
  // Replies wait at a gate, let through a wave at a time (a burst of 600 would overflow a socket's receive buffer).
  const gate: (() => void)[] = [];
  const up = await upstream({ handler: () => new Promise((resolve) => gate.push(() => resolve({ rcode: 3 }))) });
  const { p } = await fwd({ to: [up.address], udpSockets: 1 });
  // 600 random 16-bit IDs drawn independently would collide with probability ~0.93.
  const qs = names(600);
  const pending: ReturnType<typeof runPlugin>[] = [];
  for (let wave = 0; wave < 6; wave++) {
    for (const name of qs.slice(wave * 100, wave * 100 + 100)) pending.push(runPlugin(p, { name, type: 'A' }));
    await up.received(pending.length);
  }
  assert.equal(new Set(up.queries.map((q) => q.remote.port)).size, 1);
  assert.equal(new Set(up.queries.map((q) => q.id)).size, qs.length, 'every ID in flight is distinct');
  assert.deepEqual(p.upstreams[0]!.udp.inflightIds().map((ids) => ids.length), [qs.length]);
  let done = 0;
  for (const r of pending) void r.then(() => done++);
  while (gate.length) {
    for (const open of gate.splice(0, 100)) open();
    const want = qs.length - gate.length;
    await waitFor(() => done === want);
  }
  const replies = await Promise.all(pending);
  replies.forEach((r, i) => {
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.equal(r.msg!.questions[0]!.name, qs[i]);
  });
  assert.equal(p.stats.discarded, 0);
});

test('forged replies (wrong ID, wrong question, wrong source port) are discarded with queries in flight on a shared socket', async () => {
  const up = await upstream({ spoof: ['id', 'question', 'source'], records: [...RECORDS, ...names(20).map((n) => `${n}. 300 IN A 192.0.2.2`)] });
  const { p } = await fwd({ to: [up.address], udpSockets: 2 });
  const qs = names(20);
  const replies = await Promise.all(qs.map((name) => runPlugin(p, { name, type: 'A' })));
  replies.forEach((r, i) => expectReply(r, { rcode: 'NOERROR', answer: [`${qs[i]}. 300 IN A 192.0.2.2`] }));
  // The wrong-port forgeries never reach a connected socket; the wrong-ID and wrong-question ones are seen and dropped.
  assert.ok(p.stats.discarded >= 2 * qs.length, `discarded ${p.stats.discarded}`);
  assert.ok(replies.every((r) => !r.answer.some((a) => a.includes(FORGED))));
});

test('a reply that comes after its query timed out is discarded, not taken for a later query', async () => {
  const up = await upstream({ hold: true });
  const { p, clock } = await fwd({ to: [up.address], udpSockets: 1, maxFails: 0, tryTimeout: 1000, timeout: 1000 });
  const late = runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  await up.received(1);
  clock.advance(1000);
  expectReply(await late, { rcode: 'SERVFAIL' });
  up.set({ hold: false });
  const next = runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  await up.received(2);
  up.release(); // the reply to the timed-out query arrives now, on the same socket
  expectReply(await next, { rcode: 'NOERROR', answer: [A] });
  await waitFor(() => p.stats.discarded === 1);
});

test('rotation: a socket is retired after socketMaxQueries; its queries in flight still complete, then it closes', async () => {
  const up = await upstream({ hold: true });
  const { p } = await fwd({ to: [up.address], udpSockets: 1, socketMaxQueries: 5 });
  const pool = p.upstreams[0]!.udp;
  const first = names(5).map((name) => runPlugin(p, { name, type: 'A' }));
  await up.received(5);
  const second = names(5).map((name) => runPlugin(p, { name: `b.${name}`, type: 'A' }));
  await up.received(10);
  const ports = up.queries.map((q) => q.remote.port);
  assert.equal(new Set(ports.slice(0, 5)).size, 1);
  assert.equal(new Set(ports.slice(5)).size, 1);
  assert.notEqual(ports[0], ports[5], 'the sixth query leaves from a new port');
  assert.equal(pool.size, 2, 'the retired socket stays open while its queries are in flight');
  assert.equal(pool.liveCount, 0, 'the second socket is retired too: it has carried 5 queries');
  up.release();
  for (const r of await Promise.all([...first, ...second])) assert.equal(r.rcode, 'NXDOMAIN');
  await waitFor(() => pool.size === 0);
  assert.equal(pool.closed, 2);
  assert.equal(p.stats.failedAttempts, 0);
});

test('rotation: socketMaxQueries 1 gives every query a socket of its own, closed after its reply', async () => {
  const up = await upstream();
  const { p } = await fwd({ to: [up.address], udpSockets: 1, socketMaxQueries: 1 });
  const pool = p.upstreams[0]!.udp;
  for (let i = 0; i < 4; i++) {
    expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }), { answer: [A] });
    await waitFor(() => pool.size === 0);
  }
  assert.equal(new Set(up.queries.map((q) => q.remote.port)).size, 4);
  assert.deepEqual([pool.opened, pool.closed], [4, 4]);
});

test('rotation: a socket is retired after socketMaxAge (clock time); an idle one closes at once, a busy one when done', async () => {
  const up = await upstream();
  const { p, clock } = await fwd({ to: [up.address], udpSockets: 1, socketMaxAge: '30s', tryTimeout: '60s', timeout: '60s' });
  const pool = p.upstreams[0]!.udp;
  expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock), { answer: [A] });
  clock.advance(30_000);
  assert.equal(pool.size, 0, 'idle and expired: closed');
  up.set({ hold: true });
  const busy = runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  await up.received(2);
  clock.advance(30_000);
  assert.deepEqual([pool.size, pool.liveCount], [1, 0], 'expired but busy: retired, still open');
  up.release();
  expectReply(await busy, { answer: [A] });
  await waitFor(() => pool.size === 0);
  up.set({ hold: false });
  expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock), { answer: [A] });
  assert.equal(new Set(up.queries.map((q) => q.remote.port)).size, 3, 'a new port after each rotation');
  assert.deepEqual([pool.opened, pool.closed], [3, 2]);
});

test('an ICMP port unreachable fails every query in flight on that socket at once; they go to the next upstream', async () => {
  const a = await upstream({ drop: true });
  const b = await upstream();
  const { p } = await fwd({ to: [a.address, b.address], policy: 'sequential', udpSockets: 1, maxFails: 0 });
  // Spelled three ways: three distinct questions (identical ones would share one query).
  const pending = ['www', 'WWW', 'wWw'].map((w) => runPlugin(p, { name: `${w}.example.org`, type: 'A' }));
  await a.received(3);
  await a.stop();
  // Nothing listens on a's port now: this query draws an ICMP port unreachable, reported on the shared socket.
  pending.push(runPlugin(p, { name: 'Www.example.org', type: 'A' }));
  for (const r of await Promise.all(pending)) assert.deepEqual([r.rcode, r.answer.length], ['NOERROR', 1]);
  assert.equal(b.queries.length, 4, 'no query waited for its timeout: the clock never moved');
  assert.equal(p.stats.failedAttempts, 4);
  await waitFor(() => p.upstreams[0]!.udp.size === 0);
});

test('stop() with queries in flight: they end (SERVFAIL), every socket closes, no UDP handle is left', async () => {
  const up = await upstream({ hold: true });
  const before = udpHandles();
  const clock = new ManualClock();
  const metrics = new Metrics();
  const p = (await setupPlugin(forward, { to: [up.address], udpSockets: 4, socketMaxQueries: 7, maxConcurrent: 0 }, { clock, metrics })) as Forwarder;
  await p.start();
  const pending = names(40).map((name) => runPlugin(p, { name, type: 'A' }, undefined, clock));
  const pool = p.upstreams[0]!.udp;
  try {
    await up.received(40);
    // 40 queries, at most 7 per socket, 4 live: at least 3 sockets retired and replaced, all
    // still open (retired ones wait for their replies).
    assert.ok(pool.opened >= 7, `retired sockets were replaced (${pool.opened} opened)`);
    assert.equal(pool.size, pool.opened);
    // A retired socket is replaced when the next query comes: if the 40th query retired its
    // socket (which socket a query takes is random), 3 are live until then.
    assert.ok(pool.liveCount === 4 || pool.liveCount === 3, `${pool.liveCount} live sockets`);
    assert.ok(udpHandles() >= before + pool.size);
    assert.match(await metrics.registry.metrics(), new RegExp(`^skydns_forward_udp_sockets\\{to="${up.address}"\\} ${pool.size}$`, 'm'));
  } finally {
    // Also when an assertion above failed: the held queries would otherwise keep the file running.
    await p.stop();
  }
  for (const r of await Promise.all(pending)) expectReply(r, { rcode: 'SERVFAIL' });
  assert.equal(pool.size, 0);
  assert.equal(pool.closed, pool.opened);
  await waitFor(() => udpHandles() === before);
  await assert.rejects(pool.exchange(Buffer.alloc(17), 1000), { kind: 'aborted' });
  assert.equal(pool.size, 0, 'nothing opened after stop');
});

test('pool options: defaults filled, out-of-range values refused with their key path', async () => {
  const up = await upstream();
  const { p } = await fwd({ to: [up.address] });
  expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }), { answer: [A] });
  assert.equal(p.upstreams[0]!.udp.opened, 1, 'defaults: one socket opened for one query');
  const bad: [Record<string, unknown>, string][] = [
    [{ udpSockets: 0 }, 'forward.udpSockets'],
    [{ udpSockets: 1025 }, 'forward.udpSockets'],
    [{ socketMaxQueries: -1 }, 'forward.socketMaxQueries'],
    [{ socketMaxAge: '10 parsecs' }, 'forward.socketMaxAge'],
  ];
  for (const [o, path] of bad) {
    await assert.rejects(setupPlugin(forward, { to: [up.address], ...o }), (e: unknown) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID') && e.path === path, path);
  }
});

test('timeouts: one clock timer per socket, not one per query; each query fails at its own deadline, in deadline order', async () => {
  const up = await upstream({ drop: true });
  const { p, clock } = await fwd({ to: [up.address], udpSockets: 1, socketMaxAge: 0, maxFails: 0 });
  const pool = p.upstreams[0]!.udp;
  const q = (name: string) => buildProbeQuery(name.split('.'), 1, 0);
  const failedAt = new Map<string, number>();
  const ask = (name: string, ms: number) =>
    pool.exchange(q(name), ms).then(
      () => assert.fail(`${name} was answered`),
      (err: UpstreamError) => {
        assert.equal(err.kind, 'timeout');
        failedAt.set(name, clock.now());
      },
    );
  const start = clock.now();
  // Deadlines out of order: 1000, 500 (goes before it), 2000, 500 again.
  const all = [ask('a.test', 1000), ask('b.test', 500), ask('c.test', 2000), ask('d.test', 500)];
  await up.received(4);
  assert.equal(clock.timers, 1, 'four queries in flight, one timer');
  clock.advance(499);
  await new Promise((r) => setImmediate(r));
  assert.equal(failedAt.size, 0);
  clock.advance(1);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([...failedAt.keys()].sort(), ['b.test', 'd.test']);
  assert.equal(clock.timers, 1, 're-armed for the next deadline');
  clock.advance(500);
  await new Promise((r) => setImmediate(r));
  clock.advance(1000);
  await Promise.all(all);
  assert.deepEqual(Object.fromEntries([...failedAt].map(([n, t]) => [n, t - start])), { 'b.test': 500, 'd.test': 500, 'a.test': 1000, 'c.test': 2000 });
  assert.equal(clock.timers, 0, 'nothing in flight: no timer once the last deadline passed');
});

test('a reply settles its query only; the others keep their deadlines', async () => {
  const up = await upstream({ handler: (q) => (q.name === 'drop.example.org' ? 'drop' : { rcode: 0, answers: [{ name: q.name, type: 'A', ttl: 5, data: '192.0.2.1' }] }) });
  const { p, clock } = await fwd({ to: [up.address], udpSockets: 1, socketMaxAge: 0, maxFails: 0 });
  const pool = p.upstreams[0]!.udp;
  const dropped = pool.exchange(buildProbeQuery(['drop', 'example', 'org'], 1, 0), 1000);
  const answered = await pool.exchange(buildProbeQuery(['www', 'example', 'org'], 1, 0), 500);
  assert.equal(answered.readUInt16BE(6), 1, 'answered');
  assert.equal(clock.timers, 1, 'the dropped query still has its deadline');
  clock.advance(999);
  let failed = false;
  void dropped.catch(() => (failed = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(failed, false);
  clock.advance(1);
  await assert.rejects(dropped, { kind: 'timeout' });
  assert.equal(clock.timers, 0);
});

test('a socket whose queries are all answered keeps its one timer; the next queries do not add timers', async () => {
  const up = await upstream();
  const { p, clock } = await fwd({ to: [up.address], udpSockets: 1, socketMaxAge: 0, maxFails: 0 });
  const pool = p.upstreams[0]!.udp;
  for (let i = 0; i < 5; i++) await pool.exchange(buildProbeQuery(['www', 'example', 'org'], 1, 0), 2000);
  assert.equal(clock.timers, 1, 'one timer, armed by the first query');
  clock.advance(2000);
  assert.equal(clock.timers, 0, 'it fired with nothing in flight and did not re-arm');
  const late = pool.exchange(buildProbeQuery(['www', 'example', 'org'], 1, 0), 2000);
  assert.equal(clock.timers, 1);
  await late;
});
