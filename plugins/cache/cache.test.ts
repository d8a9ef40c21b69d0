import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { Rcode, type Message } from '../../src/dns/index.js';
import type { Generation, Next, Reply } from '../../src/plugin.js';
import { runPlugin, setupPlugin, type TestQuery } from '../../src/testing/harness.js';
import { parseRR } from '../../src/testing/upstream.js';
import type { Cache } from './cache.js';
import cache from './index.js';

const SOA = 'example.org. 3600 IN SOA ns.example.org. hostmaster.example.org. 1 7200 900 1209600 300';

function msg(rcode: number, answers: string[] = [], authorities: string[] = [], tc = false): Message {
  return { rcode, flags: { ra: true, tc }, answers: answers.map(parseRR), authorities: authorities.map(parseRR) };
}

/** A cache in front of a fake rest-of-chain whose reply the test sets, counting calls. */
async function rig(opts: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const c = (await setupPlugin(cache, opts, { clock })) as Cache;
  const rig = {
    clock,
    c,
    calls: 0,
    reply: (): Reply | Promise<Reply> => ({ msg: msg(Rcode.NOERROR, ['www.example.org. 300 IN A 192.0.2.1']) }),
    next: (async () => {
      rig.calls++;
      return rig.reply();
    }) as Next,
    q: (name: string, type = 'A', extra: Partial<TestQuery> = {}) => runPlugin(c, { name, type, ...extra }, rig.next, clock),
    ttls: async (name: string, type = 'A', extra: Partial<TestQuery> = {}) => {
      const r = await rig.q(name, type, extra);
      return [...(r.msg!.answers ?? []), ...(r.msg!.authorities ?? [])].map((a) => a.ttl);
    },
  };
  return rig;
}

test('a hit is served without calling next, with the client ID and spelling and TTLs counting down', async () => {
  const r = await rig();
  const first = await r.q('www.example.org');
  assert.deepEqual(first.answer, ['www.example.org. 300 IN A 192.0.2.1']);
  r.clock.advance(10_999);
  const hit = await r.q('WWW.Example.ORG', 'A', { id: 777, rd: false });
  assert.equal(r.calls, 1);
  assert.equal(hit.msg!.id, 777);
  assert.equal(hit.msg!.rd, false);
  assert.equal(hit.msg!.questions[0]!.name, 'WWW.Example.ORG');
  assert.deepEqual(hit.answer, ['WWW.Example.ORG. 290 IN A 192.0.2.1']);
  assert.ok('wire' in hit.reply);
  assert.equal(r.c.stats.hits, 1);
  r.clock.advance(289_001);
  await r.q('www.example.org');
  assert.equal(r.calls, 2, 'expired after 300 s');
});

test('the key holds name, type, class, DO and CD', async () => {
  const r = await rig();
  await r.q('www.example.org');
  await r.q('www.example.org', 'AAAA');
  await r.q('www.example.org', 'A', { class: 'CH' });
  await r.q('www.example.org', 'A', { edns: { udpSize: 1232, do: true } });
  await r.q('www.example.org', 'A', { cd: true });
  assert.equal(r.calls, 5);
  await r.q('www.EXAMPLE.org', 'A', { edns: { udpSize: 1232, do: true } });
  await r.q('www.example.org', 'A', { edns: { udpSize: 4096 } });
  assert.equal(r.calls, 5, 'case and UDP size are not part of the key');
});

test('maxTtl caps a positive answer and its TTLs; minTtl keeps a short one', async () => {
  const r = await rig({ maxTtl: 600, minTtl: 10 });
  r.reply = () => ({ msg: msg(0, ['long.example.org. 86400 IN A 192.0.2.1', 'long.example.org. 1000 IN A 192.0.2.2']) });
  assert.deepEqual(await r.ttls('long.example.org'), [600, 600], 'the first client sees the capped TTLs too');
  assert.deepEqual(await r.ttls('long.example.org'), [600, 600]);
  assert.equal(r.calls, 1);
  r.clock.advance(600_000);
  await r.q('long.example.org');
  assert.equal(r.calls, 2);

  r.reply = () => ({ msg: msg(0, ['short.example.org. 2 IN A 192.0.2.3']) });
  await r.q('short.example.org');
  r.clock.advance(9_000);
  assert.deepEqual(await r.ttls('short.example.org'), [0], 'its own TTL counts down to 0');
  assert.equal(r.calls, 3);
  r.clock.advance(1_000);
  await r.q('short.example.org');
  assert.equal(r.calls, 4, 'kept minTtl seconds');

  const zero = await rig({ minTtl: 0 });
  zero.reply = () => ({ msg: msg(0, ['zero.example.org. 0 IN A 192.0.2.4']) });
  await zero.q('zero.example.org');
  await zero.q('zero.example.org');
  assert.equal(zero.calls, 2, 'TTL 0 with minTtl 0 is not cached');
});

test('NXDOMAIN and NODATA live min(SOA TTL, SOA MINIMUM) (RFC 2308), capped by denialMaxTtl', async () => {
  const r = await rig();
  r.reply = () => ({ msg: msg(Rcode.NXDOMAIN, [], [SOA]) });
  await r.q('nope.example.org');
  r.clock.advance(100_000);
  assert.deepEqual(await r.ttls('nope.example.org'), [200]);
  r.clock.advance(200_000);
  await r.q('nope.example.org');
  assert.equal(r.calls, 2);

  r.reply = () => ({ msg: msg(Rcode.NOERROR, [], [SOA]) });
  await r.q('www.example.org', 'TXT');
  assert.deepEqual(await r.ttls('www.example.org', 'TXT'), [300]);
  assert.equal(r.calls, 3);
  assert.equal(r.c.denial.size, 2);
  assert.equal(r.c.positive.size, 0);

  const capped = await rig({ denialMaxTtl: 60 });
  capped.reply = () => ({ msg: msg(Rcode.NXDOMAIN, [], [SOA]) });
  await capped.q('nope.example.org');
  assert.deepEqual(await capped.ttls('nope.example.org'), [60]);

  const noSoa = await rig();
  noSoa.reply = () => ({ msg: msg(Rcode.NXDOMAIN) });
  await noSoa.q('nope.example.org');
  await noSoa.q('nope.example.org');
  assert.equal(noSoa.calls, 2, 'a negative answer without SOA is not cached');
});

test('SERVFAIL is cached only servfailTtl seconds (0: not at all)', async () => {
  const r = await rig();
  r.reply = () => ({ msg: msg(Rcode.SERVFAIL) });
  await r.q('broken.example.org');
  r.clock.advance(4_999);
  assert.equal((await r.q('broken.example.org')).rcode, 'SERVFAIL');
  assert.equal(r.calls, 1);
  r.clock.advance(1);
  await r.q('broken.example.org');
  assert.equal(r.calls, 2);

  const off = await rig({ servfailTtl: 0 });
  off.reply = () => ({ msg: msg(Rcode.SERVFAIL) });
  await off.q('broken.example.org');
  await off.q('broken.example.org');
  assert.equal(off.calls, 2);
});

test('never cached: truncated, REFUSED, FORMERR, NOTIMP, dropped', async () => {
  const cases: [string, () => Reply][] = [
    ['tc', () => ({ msg: msg(0, ['www.example.org. 300 IN A 192.0.2.1'], [], true) })],
    ['refused', () => ({ msg: msg(Rcode.REFUSED) })],
    ['formerr', () => ({ msg: msg(Rcode.FORMERR) })],
    ['notimp', () => ({ msg: msg(Rcode.NOTIMP) })],
    ['drop', () => ({ drop: true })],
  ];
  for (const [what, reply] of cases) {
    const r = await rig();
    r.reply = reply;
    await r.q('www.example.org');
    await r.q('www.example.org');
    assert.equal(r.calls, 2, what);
    assert.equal(r.c.size, 0, what);
  }
});

test('wire replies are cached like message replies', async () => {
  const r = await rig();
  const src = await rig();
  // Take a real wire reply (what forward returns) from another cache's hit.
  await src.q('www.example.org');
  const wire = (await src.q('www.example.org')).reply;
  assert.ok('wire' in wire);
  r.reply = () => ({ wire: Buffer.from(wire.wire) });
  await r.q('www.example.org');
  const hit = await r.q('Www.Example.Org', 'A', { id: 5 });
  assert.equal(r.calls, 1);
  assert.deepEqual(hit.answer, ['Www.Example.Org. 300 IN A 192.0.2.1']);
});

test('positive and negative entries have separate LRU capacities', async () => {
  const r = await rig({ capacity: 2, denialCapacity: 1 });
  for (const n of ['a', 'b', 'c']) {
    r.reply = () => ({ msg: msg(0, [`${n}.example.org. 300 IN A 192.0.2.1`]) });
    await r.q(`${n}.example.org`);
  }
  r.reply = () => ({ msg: msg(Rcode.NXDOMAIN, [], [SOA]) });
  await r.q('x.example.org');
  await r.q('y.example.org');
  assert.equal(r.c.positive.size, 2);
  assert.equal(r.c.denial.size, 1);
  const calls = r.calls;
  await r.q('b.example.org');
  await r.q('c.example.org');
  await r.q('y.example.org');
  assert.equal(r.calls, calls, 'the newest entries are still there');
  await r.q('a.example.org');
  assert.equal(r.calls, calls + 1, 'the least recently used one was evicted');
});

test('a reply that depends on the registry is dropped once the registry changes, even with serveStale', async () => {
  const r = await rig({ serveStale: { enabled: true } });
  const registry: { version: number } & Generation = { version: 7 };
  r.reply = () => ({ msg: msg(0, ['web.skydns.local. 30 IN A 192.0.2.9']), depends: { on: registry, version: registry.version } });
  await r.q('web.skydns.local');
  await r.q('web.skydns.local');
  assert.equal(r.calls, 1);
  registry.version = 8;
  await r.q('web.skydns.local');
  assert.equal(r.calls, 2);
  assert.equal(r.c.stats.invalidated, 1);
  await r.q('web.skydns.local');
  assert.equal(r.calls, 2, 'the new reply is cached with the new version');
  registry.version = 9;
  r.reply = () => ({ msg: msg(Rcode.SERVFAIL) });
  r.clock.advance(31_000);
  assert.equal((await r.q('web.skydns.local')).rcode, 'SERVFAIL', 'never served stale');
});

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

test('prefetch: a popular entry near the end of its TTL is refreshed once in the background', async () => {
  const r = await rig({ prefetch: { amount: 2, duration: '2m', percentage: 10 } });
  r.reply = () => ({ msg: msg(0, ['www.example.org. 100 IN A 192.0.2.1']) });
  await r.q('www.example.org');
  r.clock.advance(1_000);
  await r.q('www.example.org');
  r.clock.advance(1_000);
  await r.q('www.example.org');
  assert.equal(r.calls, 1, 'popular but far from expiry');
  r.clock.advance(89_000);
  const gate = deferred<Reply>();
  r.reply = () => gate.promise;
  const hit = await r.q('www.example.org');
  assert.deepEqual(hit.answer, ['www.example.org. 9 IN A 192.0.2.1'], 'served from cache at once');
  assert.equal(r.calls, 2, 'one refresh started');
  await r.q('www.example.org');
  assert.equal(r.calls, 2, 'one refresh per entry at a time');
  gate.resolve({ msg: msg(0, ['www.example.org. 100 IN A 192.0.2.2']) });
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(await r.ttls('www.example.org'), [100]);
  assert.deepEqual((await r.q('www.example.org')).answer, ['www.example.org. 100 IN A 192.0.2.2']);
  assert.equal(r.calls, 2);
  assert.equal(r.c.stats.prefetches, 1);
});

test('prefetch: hits separated by more than duration do not make an entry popular', async () => {
  const r = await rig({ prefetch: { amount: 2, duration: '10s', percentage: 50 } });
  r.reply = () => ({ msg: msg(0, ['www.example.org. 100 IN A 192.0.2.1']) });
  await r.q('www.example.org');
  r.clock.advance(60_000);
  await r.q('www.example.org');
  r.clock.advance(11_000);
  await r.q('www.example.org');
  assert.equal(r.calls, 1, 'each hit came after a gap: popularity reset');
  r.clock.advance(5_000);
  await r.q('www.example.org');
  assert.equal(r.calls, 2, 'two hits within 10 s and under 50% left');
});

test('serveStale: an expired entry is served with TTL 30 when the chain fails, then rechecked after 30 s', async () => {
  const r = await rig({ serveStale: { enabled: true, maxStale: '1h' } });
  r.reply = () => ({ msg: msg(0, ['www.example.org. 60 IN A 192.0.2.1']) });
  await r.q('www.example.org');
  r.clock.advance(61_000);
  r.reply = () => ({ msg: msg(Rcode.SERVFAIL) });
  const stale = await r.q('www.example.org', 'A', { id: 99 });
  assert.deepEqual(stale.answer, ['www.example.org. 30 IN A 192.0.2.1']);
  assert.equal(stale.msg!.id, 99);
  assert.equal(r.calls, 2);
  r.clock.advance(10_000);
  await r.q('www.example.org');
  assert.equal(r.calls, 2, 'within the failure recheck time: stale at once');
  r.clock.advance(20_000);
  r.reply = () => {
    throw new Error('upstream exploded');
  };
  assert.deepEqual((await r.q('www.example.org')).answer, ['www.example.org. 30 IN A 192.0.2.1'], 'a throwing chain counts as a failure');
  assert.equal(r.calls, 3);
  r.clock.advance(30_000);
  r.reply = () => ({ msg: msg(0, ['www.example.org. 60 IN A 192.0.2.2']) });
  assert.deepEqual((await r.q('www.example.org')).answer, ['www.example.org. 60 IN A 192.0.2.2'], 'fresh again');
  assert.equal(r.c.stats.stale, 3);
  r.clock.advance(60_000 + 3_600_000);
  r.reply = () => ({ msg: msg(Rcode.SERVFAIL) });
  assert.equal((await r.q('www.example.org')).rcode, 'SERVFAIL', 'past maxStale');
});

test('serveStale: a slow refresh answers stale after clientTimeout and replaces the entry when it lands', async () => {
  const r = await rig({ serveStale: { enabled: true, clientTimeout: 1800 } });
  r.reply = () => ({ msg: msg(0, ['www.example.org. 60 IN A 192.0.2.1']) });
  await r.q('www.example.org');
  r.clock.advance(60_000);
  const gate = deferred<Reply>();
  r.reply = () => gate.promise;
  const pending = r.q('www.example.org');
  await new Promise((res) => setImmediate(res));
  const joiner = r.q('www.example.org');
  await new Promise((res) => setImmediate(res));
  assert.equal(r.calls, 2, 'a second client joins the refresh in flight');
  r.clock.advance(1_800);
  assert.deepEqual((await pending).answer, ['www.example.org. 30 IN A 192.0.2.1']);
  assert.deepEqual((await joiner).answer, ['www.example.org. 30 IN A 192.0.2.1']);
  gate.resolve({ msg: msg(0, ['www.example.org. 60 IN A 192.0.2.2']) });
  await new Promise((res) => setImmediate(res));
  assert.deepEqual((await r.q('www.example.org')).answer, ['www.example.org. 60 IN A 192.0.2.2']);
  assert.equal(r.calls, 2);
});

test('without serveStale an expired entry is simply a miss', async () => {
  const r = await rig();
  r.reply = () => ({ msg: msg(0, ['www.example.org. 60 IN A 192.0.2.1']) });
  await r.q('www.example.org');
  r.clock.advance(60_000);
  r.reply = () => ({ msg: msg(Rcode.SERVFAIL) });
  assert.equal((await r.q('www.example.org')).rcode, 'SERVFAIL');
});
