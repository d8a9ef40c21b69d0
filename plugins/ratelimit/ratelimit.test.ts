import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { isSkyError } from '../../src/errors.js';
import { Metrics } from '../../src/metrics.js';
import type { Next, Plugin } from '../../src/plugin.js';
import { expectReply, runPlugin, setupPlugin, type TestReply } from '../../src/testing/harness.js';
import ratelimit from './index.js';

const served: Next = async (req) => ({ msg: { rcode: 0, answers: [{ name: req!.qname, type: 'A', ttl: 5, data: '192.0.2.1' }] } });

async function setup(opts: Record<string, unknown>) {
  const clock = new ManualClock();
  const metrics = new Metrics();
  const p = await setupPlugin(ratelimit, opts, { clock, metrics });
  return { p, clock, metrics };
}

function ask(p: Plugin, address: string, o: { type?: string; transport?: 'udp' | 'tcp'; name?: string } = {}): Promise<TestReply> {
  return runPlugin(p, { name: o.name ?? 'web.production.skydns.local', type: o.type ?? 'A', transport: o.transport ?? 'udp', remote: { address, family: address.includes(':') ? 'IPv6' : 'IPv4' } }, served);
}

/** Outcomes of n queries from `address`: answered, truncated (slip), dropped. */
async function flood(p: Plugin, address: string, n: number, o: { type?: string; transport?: 'udp' | 'tcp' } = {}) {
  const c = { answered: 0, truncated: 0, dropped: 0 };
  for (let i = 0; i < n; i++) {
    const r = await ask(p, address, o);
    if (r.dropped) c.dropped++;
    else if (r.msg!.flags.tc) {
      assert.deepEqual([r.rcode, r.answer, r.ns, r.extra], ['NOERROR', [], [], []], 'a slipped reply is empty');
      c.truncated++;
    } else c.answered++;
  }
  return c;
}

describe('ratelimit', () => {
  test('a flood from one client is limited while another client is served', async () => {
    const { p, clock } = await setup({ responsesPerSecond: 10, burst: 20, slip: 2 });
    assert.deepEqual(await flood(p, '192.0.2.1', 100), { answered: 20, truncated: 40, dropped: 40 });
    assert.deepEqual(await flood(p, '198.51.100.7', 20), { answered: 20, truncated: 0, dropped: 0 });
    // the same /24 shares the bucket
    assert.deepEqual(await flood(p, '192.0.2.200', 2), { answered: 0, truncated: 1, dropped: 1 });
    clock.advance(1000);
    assert.deepEqual(await flood(p, '192.0.2.1', 30), { answered: 10, truncated: 10, dropped: 10 });
  });

  test('slip 0 drops every limited response; slip 1 truncates every one; slip 3 every third', async () => {
    for (const [slip, want] of [[0, { answered: 5, truncated: 0, dropped: 9 }], [1, { answered: 5, truncated: 9, dropped: 0 }], [3, { answered: 5, truncated: 3, dropped: 6 }]] as const) {
      const { p } = await setup({ responsesPerSecond: 1, burst: 5, slip });
      assert.deepEqual(await flood(p, '203.0.113.5', 14), want, `slip ${slip}`);
    }
  });

  test('TCP is never limited and does not spend tokens', async () => {
    const { p } = await setup({ responsesPerSecond: 1, burst: 3 });
    assert.deepEqual(await flood(p, '192.0.2.1', 50, { transport: 'tcp' }), { answered: 50, truncated: 0, dropped: 0 });
    assert.equal((await flood(p, '192.0.2.1', 10)).answered, 3);
    assert.equal((await flood(p, '192.0.2.1', 10, { transport: 'tcp' })).answered, 10);
  });

  test('exempt networks are never limited', async () => {
    const { p } = await setup({ responsesPerSecond: 1, burst: 2, exempt: ['10.0.0.0/8', '2001:db8:ffff::/48'] });
    assert.equal((await flood(p, '10.1.2.3', 30)).answered, 30);
    assert.equal((await flood(p, '2001:db8:ffff:1::9', 30)).answered, 30);
    assert.equal((await flood(p, '11.1.2.3', 30)).answered, 2);
  });

  test('clients are grouped by prefix: /56 for IPv6, configurable', async () => {
    const { p } = await setup({ responsesPerSecond: 1, burst: 2, slip: 0 });
    assert.equal((await flood(p, '2001:db8:0:ab00::1', 5)).answered, 2);
    assert.equal((await flood(p, '2001:db8:0:abff::2', 5)).answered, 0, 'same /56');
    assert.equal((await flood(p, '2001:db8:0:ac00::1', 5)).answered, 2, 'another /56');
    const per = await setup({ responsesPerSecond: 1, burst: 2, ipv4Prefix: 32 });
    assert.equal((await flood(per.p, '192.0.2.1', 5)).answered, 2);
    assert.equal((await flood(per.p, '192.0.2.2', 5)).answered, 2, '/32: every address alone');
  });

  test('burst defaults to five seconds of responses', async () => {
    const { p } = await setup({ responsesPerSecond: 4, slip: 0 });
    assert.equal((await flood(p, '192.0.2.1', 50)).answered, 20);
  });

  test('ANY over UDP is answered minimally (RFC 8482); over TCP, or with any: "pass", it goes on', async () => {
    const { p, metrics } = await setup({});
    expectReply(await ask(p, '192.0.2.1', { type: 'ANY', name: 'Web.Example.org' }), { rcode: 'NOERROR', answer: ['Web.Example.org. 300 IN HINFO {"cpu":"RFC8482","os":""}'] });
    expectReply(await ask(p, '192.0.2.1', { type: 'ANY', transport: 'tcp' }), { answer: ['web.production.skydns.local. 5 IN A 192.0.2.1'] });
    assert.match(await metrics.registry.metrics(), /skydns_ratelimit_any_minimal_total 1/);
    const pass = await setup({ any: 'pass' });
    expectReply(await ask(pass.p, '192.0.2.1', { type: 'ANY' }), { answer: ['web.production.skydns.local. 5 IN A 192.0.2.1'] });
  });

  test('the bucket table stays bounded under many prefixes', async () => {
    const { p, metrics } = await setup({ responsesPerSecond: 1, burst: 1, maxBuckets: 50 });
    for (let i = 0; i < 500; i++) await ask(p, `10.${i >> 8}.${i & 255}.1`);
    const text = await metrics.registry.metrics();
    assert.match(text, /skydns_ratelimit_buckets 50\n/);
  });

  test('counts limited responses by action', async () => {
    const { p, metrics } = await setup({ responsesPerSecond: 1, burst: 1, slip: 2 });
    await flood(p, '192.0.2.1', 5);
    const text = await metrics.registry.metrics();
    assert.match(text, /skydns_ratelimit_limited_total\{action="slip"\} 2/);
    assert.match(text, /skydns_ratelimit_limited_total\{action="drop"\} 2/);
  });

  test('bad options fail setup with the key path', async () => {
    await assert.rejects(setupPlugin(ratelimit, { exempt: ['10.0.0.0/8', '10.0.0.0/99'] }), (e: unknown) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID') && e.path === 'chain[0].ratelimit.exempt[1]');
    await assert.rejects(setupPlugin(ratelimit, { responsesPerSecond: 0.1 }), (e: unknown) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID') && e.path === 'chain[0].ratelimit.burst');
    for (const bad of [{ responsesPerSecond: 0 }, { slip: -1 }, { ipv4Prefix: 33 }, { any: 'drop' }, { window: 5 }]) {
      await assert.rejects(setupPlugin(ratelimit, bad), (e: unknown) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'), JSON.stringify(bad));
    }
  });
});
