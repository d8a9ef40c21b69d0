import assert from 'node:assert/strict';
import { answerGeneration } from '../../src/registry/generation.js';
import { after, before, describe, it } from 'node:test';
import { Rcode } from '../../src/dns/types.js';
import type { Next, Reply } from '../../src/plugin.js';
import { expectReply } from '../../src/testing/harness.js';
import { svc, zoneFixture, type ZoneFixture } from './zone-fixture.js';

const SERIAL = 1767225600; // the ManualClock's start, in seconds
const soa = (serial = SERIAL, ttl = 30) => `skydns.local. ${ttl} IN SOA ns.dns.skydns.local. hostmaster.skydns.local. ${serial} 7200 1800 86400 30`;

/** The rest of the chain, answering with `reply` and counting calls. */
function downstream(reply: () => Reply): Next & { calls: string[] } {
  const calls: string[] = [];
  const fn = (async (req) => {
    calls.push(`${req!.type} ${req!.qname}`);
    return reply();
  }) as Next & { calls: string[] };
  fn.calls = calls;
  return fn;
}

describe('skydns zone: apex, negative answers, delegation', () => {
  let f: ZoneFixture;
  before(async () => {
    f = await zoneFixture({ nsAddress: ['192.0.2.53', '2001:db8::53'] }, [
      svc('w1'),
      svc('w2', { Host: 'web2.example' }),
    ]);
  });
  after(() => f.close());

  it('answers SOA and NS at the apex', async () => {
    expectReply(await f.query('skydns.local', 'SOA'), { rcode: 'NOERROR', aa: true, answer: [soa(SERIAL, 300)], ns: [] });
    expectReply(await f.query('skydns.local', 'NS'), {
      aa: true,
      answer: ['skydns.local. 300 IN NS ns.dns.skydns.local.'],
      extra: ['ns.dns.skydns.local. 300 IN A 192.0.2.53', 'ns.dns.skydns.local. 300 IN AAAA 2001:db8::53'],
    });
  });

  it('answers the name server name from nsAddress, and its parent is an empty non-terminal', async () => {
    expectReply(await f.query('ns.dns.skydns.local', 'A'), { aa: true, answer: ['ns.dns.skydns.local. 300 IN A 192.0.2.53'] });
    expectReply(await f.query('ns.dns.skydns.local', 'AAAA'), { answer: ['ns.dns.skydns.local. 300 IN AAAA 2001:db8::53'] });
    expectReply(await f.query('ns.dns.skydns.local', 'MX'), { rcode: 'NOERROR', answer: [], ns: [soa()] });
    expectReply(await f.query('dns.skydns.local', 'A'), { rcode: 'NOERROR', aa: true, answer: [], ns: [soa()] });
  });

  it('tells NXDOMAIN from NODATA, both with the SOA (TTL min(SOA TTL, minimum)) and AA', async () => {
    expectReply(await f.query('nothing.production.skydns.local', 'SRV'), { rcode: 'NXDOMAIN', aa: true, answer: [], ns: [soa()] });
    expectReply(await f.query('nothing.production.skydns.local', 'A'), { rcode: 'NXDOMAIN', ns: [soa()] });
    for (const type of ['TXT', 'MX', 'NS', 'SOA', 'PTR', 'CAA']) {
      expectReply(await f.query('web.production.skydns.local', type), { rcode: 'NOERROR', aa: true, answer: [], ns: [soa()] });
    }
    // an existing name that is only a suffix of service names
    expectReply(await f.query('production.skydns.local', 'TXT'), { rcode: 'NOERROR', answer: [], ns: [soa()] });
    // RFC 2782 names own SRV records only
    expectReply(await f.query('_web._tcp.production.skydns.local', 'A'), { rcode: 'NOERROR', answer: [], ns: [soa()] });
  });

  it('uses SOA minimum as the negative TTL only when it is below the SOA TTL', async () => {
    const g = await zoneFixture({ soa: { ttl: 20, minimum: 60, hostmaster: 'ops.example.org' } });
    try {
      expectReply(await g.query('x.skydns.local', 'SRV'), { rcode: 'NXDOMAIN', ns: [`skydns.local. 20 IN SOA ns.dns.skydns.local. ops.example.org. ${SERIAL} 7200 1800 86400 60`] });
    } finally {
      await g.close();
    }
  });

  it('answers ANY over UDP with the RFC 8482 HINFO, over TCP with the SRV set', async () => {
    expectReply(await f.query('web.production.skydns.local', 'ANY'), { aa: true, answer: ['web.production.skydns.local. 300 IN HINFO {"cpu":"RFC8482","os":""}'], extra: [] });
    expectReply(await f.query('web.production.skydns.local', 'ANY', { transport: 'tcp' }), {
      aa: true,
      answer: ['web.production.skydns.local. 30 IN SRV 10 50 8080 w1.skydns.local.', 'web.production.skydns.local. 30 IN SRV 10 50 8080 web2.example.'],
      extra: ['w1.skydns.local. 30 IN A 10.0.0.1'],
    });
    expectReply(await f.query('skydns.local', 'ANY', { transport: 'tcp' }), {
      answer: [soa(SERIAL, 300), 'skydns.local. 300 IN NS ns.dns.skydns.local.'],
    });
    expectReply(await f.query('nothing.skydns.local', 'ANY'), { rcode: 'NXDOMAIN', ns: [soa()] });
  });

  it('passes names outside its zones and classes other than IN to the next plugin', async () => {
    const next = downstream(() => ({ msg: { rcode: Rcode.NOERROR, answers: [{ name: 'example.com', type: 'A', ttl: 5, data: '192.0.2.1' }] } }));
    expectReply(await f.query('example.com', 'A', {}, next), { answer: ['example.com. 5 IN A 192.0.2.1'] });
    expectReply(await f.query('notskydns.local', 'SRV', {}, next), { rcode: 'NOERROR' });
    expectReply(await f.query('web.production.skydns.local', 'TXT', { class: 'CH' }, next), { rcode: 'NOERROR' });
    assert.deepEqual(next.calls, ['A example.com', 'SRV notskydns.local', 'TXT web.production.skydns.local']);
    // nothing behind it: REFUSED (the chain's end), not an answer from the zone
    expectReply(await f.query('example.com', 'A'), { rcode: 'REFUSED' });
  });

  it('hands A/AAAA/CNAME of existing names to the next plugin and adds the SOA to its negative replies', async () => {
    const positive = downstream(() => ({ msg: { rcode: 0, flags: { aa: true }, answers: [{ name: 'web.production.skydns.local', type: 'A', ttl: 30, data: '10.0.0.1' }] } }));
    expectReply(await f.query('web.production.skydns.local', 'A', {}, positive), { answer: ['web.production.skydns.local. 30 IN A 10.0.0.1'] });
    expectReply(await f.query('web.production.skydns.local', 'CNAME', {}, positive), { rcode: 'NOERROR' });
    assert.deepEqual(positive.calls, ['A web.production.skydns.local', 'CNAME web.production.skydns.local']);

    const nodata = downstream(() => ({ msg: { rcode: 0, flags: { aa: true }, answers: [] } }));
    expectReply(await f.query('web.production.skydns.local', 'AAAA', {}, nodata), { rcode: 'NOERROR', aa: true, answer: [], ns: [soa()] });
    // served again from the pre-encoded map's "delegate" entry: still asks the next plugin
    expectReply(await f.query('web.production.skydns.local', 'AAAA', {}, nodata), { rcode: 'NOERROR', ns: [soa()] });
    assert.equal(nodata.calls.length, 2);

    // names that do not exist never leave the zone
    const never = downstream(() => assert.fail('called'));
    expectReply(await f.query('nothing.production.skydns.local', 'A', {}, never), { rcode: 'NXDOMAIN', ns: [soa()] });
    // falling off the end of the chain (no synth) is NODATA, not REFUSED
    expectReply(await f.query('web.production.skydns.local', 'A'), { rcode: 'NOERROR', aa: true, answer: [], ns: [soa()] });
  });

  it('refuses zone transfers', async () => {
    expectReply(await f.query('skydns.local', 'AXFR', { transport: 'tcp' }), { rcode: 'REFUSED', answer: [] });
    expectReply(await f.query('skydns.local', 'IXFR'), { rcode: 'REFUSED' });
  });

  it('marks every reply as depending on the registry answers generation', async () => {
    const r = await f.query('web.production.skydns.local', 'SRV');
    const dep = (r.reply as { depends?: { on: unknown; version: number } }).depends;
    assert.equal(dep?.on, answerGeneration(f.registry));
    assert.equal(dep?.version, answerGeneration(f.registry).version);
  });
});

describe('skydns zone: options', () => {
  it('answers A/AAAA itself (NODATA) with addresses: "none"', async () => {
    const f = await zoneFixture({ addresses: 'none' }, [svc('w1')]);
    try {
      const never = downstream(() => assert.fail('called'));
      expectReply(await f.query('web.production.skydns.local', 'A', {}, never), { rcode: 'NOERROR', answer: [], ns: [soa()] });
    } finally {
      await f.close();
    }
  });

  it('serves another zone with its own SOA names', async () => {
    const f = await zoneFixture({ zone: 'Disco.Example.', soa: { ns: 'ns1.example.net.' } }, [svc('w1')]);
    try {
      expectReply(await f.query('web.production.disco.example', 'SRV'), { answer: ['web.production.disco.example. 30 IN SRV 10 100 8080 w1.disco.example.'], extra: ['w1.disco.example. 30 IN A 10.0.0.1'] });
      expectReply(await f.query('disco.example', 'NS'), { answer: ['disco.example. 300 IN NS ns1.example.net.'], extra: [] });
      expectReply(await f.query('x.disco.example', 'SRV'), { rcode: 'NXDOMAIN', ns: [`disco.example. 30 IN SOA ns1.example.net. hostmaster.disco.example. ${SERIAL} 7200 1800 86400 30`] });
      expectReply(await f.query('web.production.skydns.local', 'SRV'), { rcode: 'REFUSED' });
    } finally {
      await f.close();
    }
  });

  it('rejects inconsistent options', async () => {
    await assert.rejects(zoneFixture({ minTtl: 100, maxTtl: 10 }), { code: 'SKY_ERR_CONFIG_INVALID' });
    await assert.rejects(zoneFixture({ nsAddress: 'ns.example' }), { code: 'SKY_ERR_CONFIG_INVALID' });
    await assert.rejects(zoneFixture({ ptrZones: ['example.com'] }), { code: 'SKY_ERR_CONFIG_INVALID' });
    await assert.rejects(zoneFixture({ ttl: 5 }), { code: 'SKY_ERR_CONFIG_INVALID' });
    await assert.rejects(zoneFixture({ wireCache: 'big' }), { code: 'SKY_ERR_CONFIG_INVALID' });
    await assert.rejects(zoneFixture({ wireCache: -1 }), { code: 'SKY_ERR_CONFIG_INVALID' });
    await assert.rejects(zoneFixture({ order: ['name', 'name'] }), { code: 'SKY_ERR_CONFIG_INVALID' });
  });
});

describe('skydns zone: SOA serial', () => {
  it('moves the serial forward whenever the registry changes, and only then', async () => {
    const f = await zoneFixture({}, [svc('w1')]);
    try {
      const serial = async () => (await f.query('skydns.local', 'SOA')).msg!.answers![0]!.data as { serial: number };
      assert.equal((await serial()).serial, SERIAL);
      f.clock.advance(5000);
      assert.equal((await serial()).serial, SERIAL, 'no change, same serial');
      await f.put(svc('w2'));
      assert.equal((await serial()).serial, SERIAL + 5, 'a change: the time of the change');
      await f.registry.remove('w2');
      assert.equal((await serial()).serial, SERIAL + 6, 'two changes in one second still differ');
    } finally {
      await f.close();
    }
  });
});
