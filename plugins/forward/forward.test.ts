import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rcode } from '../../src/dns/index.js';
import type { Next } from '../../src/plugin.js';
import { expectReply, runPlugin } from '../../src/testing/harness.js';
import type { Forwarder } from './forward.js';
import { A, forwardFixture } from './forward-fixture.js';

const { upstream, fwd } = forwardFixture();

test('forwards over the client transport and restores its ID and 0x20 spelling', async () => {
  const up = await upstream({ lowercaseQuestion: true });
  const { p } = await fwd({ to: [up.address] });
  const r = await runPlugin(p, { name: 'WwW.ExAmPlE.oRg', type: 'A', id: 31337 });
  expectReply(r, { rcode: 'NOERROR', answer: ['WwW.ExAmPlE.oRg. 300 IN A 192.0.2.1'] });
  assert.equal(r.msg!.id, 31337);
  assert.equal(r.msg!.questions[0]!.name, 'WwW.ExAmPlE.oRg');
  assert.ok('wire' in r.reply, 'the upstream bytes are passed on, not re-encoded');
  assert.equal(up.queries[0]!.transport, 'udp');
  assert.equal(up.queries[0]!.qname, 'WwW.ExAmPlE.oRg', 'the client spelling goes upstream');
  assert.notEqual(up.queries[0]!.id, 31337);

  const t = await runPlugin(p, { name: 'www.example.org', type: 'AAAA', transport: 'tcp' });
  expectReply(t, { rcode: 'NOERROR', answer: ['www.example.org. 300 IN AAAA 2001:db8::1'] });
  assert.equal(up.queries[1]!.transport, 'tcp');
});

test('NXDOMAIN and its SOA come back unchanged; the client EDNS DO and CD bits go upstream', async () => {
  const up = await upstream();
  const { p } = await fwd({ to: [up.address] });
  const r = await runPlugin(p, { name: 'nope.example.org', type: 'A', cd: true, edns: { udpSize: 1232, do: true } });
  expectReply(r, { rcode: 'NXDOMAIN', ns: ['example. 3600 IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300'] });
  const q = up.queries[0]!;
  assert.equal(q.cd, true);
  assert.equal(q.edns?.do, true);
  assert.equal(r.msg!.edns?.do, true, 'the server adds its own OPT with DO');
});

test('from and except: names outside go to the next plugin', async () => {
  const up = await upstream();
  const { p } = await fwd({ to: [up.address], from: 'example.org', except: ['internal.example.org'] });
  let nexts = 0;
  const next: Next = async () => {
    nexts++;
    return { msg: { rcode: Rcode.NXDOMAIN } };
  };
  expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }, next), { rcode: 'NOERROR', answer: [A] });
  expectReply(await runPlugin(p, { name: 'db.internal.example.org', type: 'A' }, next), { rcode: 'NXDOMAIN' });
  expectReply(await runPlugin(p, { name: 'www.example.com', type: 'A' }, next), { rcode: 'NXDOMAIN' });
  assert.equal(nexts, 2);
  assert.equal(up.queries.length, 1);
});

test('policy sequential always starts with the first upstream; round_robin rotates; random uses all', async () => {
  const a = await upstream();
  const b = await upstream();
  const seq = (await fwd({ to: [a.address, b.address], policy: 'sequential' })).p;
  for (let i = 0; i < 4; i++) await runPlugin(seq, { name: 'www.example.org', type: 'A' });
  assert.deepEqual([a.queries.length, b.queries.length], [4, 0]);

  const rr = (await fwd({ to: [a.address, b.address], policy: 'round_robin' })).p;
  for (let i = 0; i < 4; i++) await runPlugin(rr, { name: 'www.example.org', type: 'A' });
  assert.deepEqual([a.queries.length, b.queries.length], [6, 2]);

  const rnd = (await fwd({ to: [a.address, b.address], policy: 'random' })).p;
  // Each query picks either with probability 1/2: 40 queries all on one side has odds 2^-39.
  for (let i = 0; i < 40; i++) await runPlugin(rnd, { name: 'www.example.org', type: 'A' });
  assert.ok(a.queries.length > 6 && b.queries.length > 2, `random used both (${a.queries.length - 6}/${b.queries.length - 2})`);
});

test('anti-spoofing: forged replies (wrong ID, question, source port) are discarded and the real one accepted', async () => {
  const up = await upstream({ spoof: ['id', 'question', 'source'] });
  const { p } = await fwd({ to: [up.address] });
  const r = await runPlugin(p, { name: 'www.example.org', type: 'A' });
  expectReply(r, { rcode: 'NOERROR', answer: [A] });
  // The wrong-port forgery never reaches us (the socket is connected); the other two are seen and dropped.
  assert.ok(p.stats.discarded >= 2, `discarded ${p.stats.discarded}`);

  const t = await runPlugin(p, { name: 'www.example.org', type: 'A', transport: 'tcp' });
  expectReply(t, { rcode: 'NOERROR', answer: [A] });
  assert.ok(p.stats.discarded >= 4);
});

test('anti-spoofing: a forged reply alone is never accepted; the query times out instead', async () => {
  const up = await upstream({ handler: (q) => ({ raw: forgedId(q.raw) }) });
  const { p, clock } = await fwd({ to: [up.address], maxFails: 0 });
  const pending = runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  await waitFor(() => p.stats.discarded === 1);
  clock.advance(2000);
  await waitFor(() => p.stats.discarded === 2);
  clock.advance(2000);
  expectReply(await pending, { rcode: 'SERVFAIL' });
  assert.equal(up.queries.length, 2);
});

function forgedId(query: Buffer): Buffer {
  const b = Buffer.from(query.subarray(0, query.readUInt16BE(10) ? query.length - 11 : query.length));
  b.writeUInt16BE(b.readUInt16BE(0) ^ 1, 0);
  b[2] = b[2]! | 0x80;
  b.writeUInt16BE(0, 10);
  return b;
}

test('preferUdp: a truncated UDP reply is retried over TCP', async () => {
  const up = await upstream({ truncateUdp: true });
  const { p } = await fwd({ to: [up.address], preferUdp: true });
  const r = await runPlugin(p, { name: 'big.example.org', type: 'TXT', transport: 'tcp' });
  assert.equal(r.rcode, 'NOERROR');
  assert.equal(r.answer.length, 2);
  assert.equal(r.msg!.flags.tc, false);
  assert.deepEqual(up.queries.map((q) => q.transport), ['udp', 'tcp']);
});

test('without preferUdp a truncated reply goes back to the UDP client (which retries over TCP itself)', async () => {
  const up = await upstream({ truncateUdp: true });
  const { p } = await fwd({ to: [up.address] });
  const r = await runPlugin(p, { name: 'big.example.org', type: 'TXT' });
  expectReply(r, { rcode: 'NOERROR', tc: true, answer: [] });
  assert.deepEqual(up.queries.map((q) => q.transport), ['udp']);
  const t = await runPlugin(p, { name: 'big.example.org', type: 'TXT', transport: 'tcp' });
  assert.equal(t.answer.length, 2);
});

test('forceTcp: every query over TCP, on one reused connection, pipelined', async () => {
  const up = await upstream();
  const { p } = await fwd({ to: [up.address], forceTcp: true });
  for (let i = 0; i < 3; i++) expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }), { answer: [A] });
  const many = await Promise.all(Array.from({ length: 10 }, () => runPlugin(p, { name: 'www.example.org', type: 'AAAA' })));
  for (const r of many) assert.equal(r.answer.length, 1);
  assert.ok(up.queries.every((q) => q.transport === 'tcp'));
  assert.equal(up.queries.length, 13);
  assert.equal(up.tcpConnections, 1);
  assert.equal(p.upstreams[0]!.tcp.opened, 1);
});

test('idle TCP connections expire; a connection the upstream closed is replaced transparently', async () => {
  const up = await upstream();
  const { p, clock } = await fwd({ to: [up.address], forceTcp: true, expire: '10s' });
  await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  assert.equal(p.upstreams[0]!.tcp.size, 1);
  clock.advance(9000);
  await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  assert.equal(up.tcpConnections, 1, 'reused before expiry');
  clock.advance(10_000);
  assert.equal(p.upstreams[0]!.tcp.size, 0, 'closed after 10 s idle');
  await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  assert.equal(up.tcpConnections, 2);

  // The upstream now closes each connection after one reply: the next query on the stale connection is retried on a new one.
  up.set({ tcpRepliesPerConnection: 1 });
  for (let i = 0; i < 3; i++) expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock), { rcode: 'NOERROR', answer: [A] });
  assert.equal(p.stats.failedAttempts, 0);
});

test('a dropped query is retried on the next upstream after tryTimeout', async () => {
  const a = await upstream({ drop: true });
  const b = await upstream();
  const { p, clock } = await fwd({ to: [a.address, b.address], policy: 'sequential' });
  const pending = runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  await a.received(1);
  assert.equal(b.queries.length, 0);
  clock.advance(2000);
  expectReply(await pending, { rcode: 'NOERROR', answer: [A] });
  assert.equal(p.upstreams[0]!.fails, 1);
});

test('a dead upstream (ICMP unreachable) fails over at once, is marked down after maxFails, and probed back up', async () => {
  const a = await upstream();
  const b = await upstream();
  const { p, clock } = await fwd({ to: [a.address, b.address], policy: 'sequential', maxFails: 2, healthCheck: '1s' });
  const [ua] = p.upstreams;
  await a.stop();
  for (let i = 0; i < 2; i++) expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock), { answer: [A] });
  assert.equal(ua!.down, true);
  assert.equal(b.queries.length, 2);
  // While down it is skipped without trying it.
  const before = p.stats.failedAttempts;
  await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  assert.equal(p.stats.failedAttempts, before);

  // Probes fail while it is dead, then succeed once something answers on its address again.
  clock.advance(1000);
  // The probe fails (ICMP) and the next one is scheduled before anything listens there again.
  await waitFor(() => ua!.probeFailures === 1);
  assert.equal(ua!.probes, 1);
  assert.equal(ua!.down, true);
  const again = await upstream({ port: a.port });
  clock.advance(1000);
  await again.received(1);
  await waitFor(() => !ua!.down);
  assert.equal(again.queries[0]!.name, '.');
  assert.equal(again.queries[0]!.type, 'NS');
  await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  assert.equal(again.queries.length, 2, 'back in use');
});

test('an upstream that dies with TCP queries in flight: they are retried on the next upstream', async () => {
  const a = await upstream({ hold: true });
  const b = await upstream();
  const { p } = await fwd({ to: [a.address, b.address], policy: 'sequential', forceTcp: true });
  const pending = Promise.all([1, 2, 3].map(() => runPlugin(p, { name: 'www.example.org', type: 'A' })));
  await a.received(3);
  await a.stop();
  for (const r of await pending) expectReply(r, { rcode: 'NOERROR', answer: [A] });
  assert.equal(b.queries.length, 3);
  assert.equal(p.stats.failedAttempts, 3);
  assert.equal(p.upstreams[0]!.down, true);
});

test('every upstream down: SERVFAIL at once without sending anything, or (servfailWhenAllDown: false) try them anyway', async () => {
  const a = await upstream({ drop: true });
  const { p, clock } = await fwd({ to: [a.address], maxFails: 1, healthCheck: '1h' });
  const pending = runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  await a.received(1);
  clock.advance(2000);
  expectReply(await pending, { rcode: 'SERVFAIL' });
  assert.equal(p.upstreams[0]!.down, true);
  assert.equal(a.queries.length, 1, 'not retried once it is down');
  const sent = a.queries.length;
  expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock), { rcode: 'SERVFAIL' });
  assert.equal(a.queries.length, sent, 'nothing sent');
  assert.equal(p.stats.servfailAllDown, 1);

  const b = await upstream({ drop: true });
  const lax = await fwd({ to: [b.address], maxFails: 1, healthCheck: '1h', servfailWhenAllDown: false });
  const first = runPlugin(lax.p, { name: 'www.example.org', type: 'A' }, undefined, lax.clock);
  await b.received(1);
  lax.clock.advance(2000);
  expectReply(await first, { rcode: 'SERVFAIL' });
  assert.equal(lax.p.upstreams[0]!.down, true);
  b.set({ drop: false });
  expectReply(await runPlugin(lax.p, { name: 'www.example.org', type: 'A' }, undefined, lax.clock), { answer: [A] });
  assert.equal(lax.p.upstreams[0]!.down, false, 'an answer brings it back');
});

test('the overall timeout bounds retries', async () => {
  const a = await upstream({ drop: true });
  const { p, clock } = await fwd({ to: [a.address], timeout: 3000, tryTimeout: 2000, maxFails: 0 });
  const pending = runPlugin(p, { name: 'www.example.org', type: 'A' }, undefined, clock);
  await a.received(1);
  clock.advance(2000);
  await a.received(2);
  clock.advance(1000);
  expectReply(await pending, { rcode: 'SERVFAIL' });
  assert.equal(a.queries.length, 2);
});

test('maxConcurrent: past the limit REFUSED at once', async () => {
  const a = await upstream({ hold: true });
  const { p } = await fwd({ to: [a.address], maxConcurrent: 1 });
  const first = runPlugin(p, { name: 'www.example.org', type: 'A' });
  await a.received(1);
  expectReply(await runPlugin(p, { name: 'www.example.org', type: 'AAAA' }), { rcode: 'REFUSED' });
  assert.equal(a.queries.length, 1);
  a.release();
  expectReply(await first, { rcode: 'NOERROR', answer: [A] });
  assert.equal(p.stats.refusedOverLimit, 1);
});

test('an upstream that answers REFUSED is passed over for the next', async () => {
  const a = await upstream({ handler: () => ({ rcode: Rcode.REFUSED }) });
  const b = await upstream();
  const { p } = await fwd({ to: [a.address, b.address], policy: 'sequential' });
  expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }), { rcode: 'NOERROR', answer: [A] });
  const only = (await fwd({ to: [a.address] })).p;
  expectReply(await runPlugin(only, { name: 'www.example.org', type: 'A' }), { rcode: 'REFUSED' });
});

test('loop detection: an upstream that is one of our listen addresses is never used', async () => {
  const a = await upstream();
  const b = await upstream();
  const { p } = await fwd({ to: [a.address, b.address], policy: 'sequential' }, { listen: [a.address] });
  assert.equal(p.upstreams[0]!.loop, true);
  expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }), { answer: [A] });
  assert.equal(a.queries.length, 0);
  assert.equal(p.ready(), true);
  const alone = (await fwd({ to: [a.address] }, { listen: [a.address] })).p;
  assert.equal(alone.ready(), false);
  expectReply(await runPlugin(alone, { name: 'www.example.org', type: 'A' }), { rcode: 'SERVFAIL' });
  assert.equal(a.queries.length, 0);
});

test('loop detection: a probe that comes back to this plugin marks its upstream', async () => {
  let self: Forwarder | null = null;
  // This upstream "forwards" every query back into our plugin, as a local stub pointing at us would.
  const looping = await upstream({
    handler: async (q) => {
      await runPlugin(self!, { name: q.qname, type: q.type });
      return { rcode: Rcode.REFUSED };
    },
  });
  const good = await upstream();
  const { p } = await fwd({ to: [looping.address, good.address] });
  self = p;
  p.listening(['127.0.0.1:1']);
  await p.loopCheckDone();
  assert.equal(p.upstreams[0]!.loop, true);
  assert.equal(p.upstreams[1]!.loop, false);
  assert.match(looping.queries[0]!.name, /^[0-9a-f]{16}\.skydns-loop-check$/);
  assert.equal(looping.queries.length, 1, 'the probe did not go round again');
});

/** Lets pending socket events run until `cond` holds (bounded). */
async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition not reached');
}
