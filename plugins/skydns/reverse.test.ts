import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectReply } from '../../src/testing/harness.js';
import { expandIPv6, reverseName } from './reverse.js';
import { svc, zoneFixture, type ZoneFixture } from './zone-fixture.js';

const SERIAL = 1767225600;
const V6 = '8.b.d.0.1.0.0.2.ip6.arpa';
const soaOf = (zone: string) => `${zone}. 30 IN SOA ns.dns.skydns.local. hostmaster.skydns.local. ${SERIAL} 7200 1800 86400 30`;

describe('reverse names', () => {
  it('expands IPv6 addresses to eight groups', () => {
    assert.deepEqual(expandIPv6('2001:db8::1'), ['2001', '0db8', '0000', '0000', '0000', '0000', '0000', '0001']);
    assert.deepEqual(expandIPv6('::'), new Array(8).fill('0000'));
    assert.deepEqual(expandIPv6('fe80::1%eth0'), ['fe80', '0000', '0000', '0000', '0000', '0000', '0000', '0001']);
    assert.deepEqual(expandIPv6('::ffff:192.0.2.1'), ['0000', '0000', '0000', '0000', '0000', 'ffff', 'c000', '0201']);
    assert.deepEqual(expandIPv6('1:2:3:4:5:6:7:8'), ['0001', '0002', '0003', '0004', '0005', '0006', '0007', '0008']);
  });

  it('builds in-addr.arpa and ip6.arpa names', () => {
    assert.equal(reverseName('10.1.2.3'), '3.2.1.10.in-addr.arpa');
    assert.equal(reverseName('2001:DB8::1'), `1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.${V6}`);
    assert.equal(reverseName('web.example'), null);
  });
});

describe('skydns PTR', () => {
  let f: ZoneFixture;
  before(async () => {
    f = await zoneFixture({ ptrZones: ['10.in-addr.arpa.', V6] }, [
      svc('w1', { Host: '10.1.2.3' }),
      svc('w2', { Host: '10.1.2.3', Name: 'api', TTL: 20 }),
      svc('w3', { Host: '10.9.9.9', Region: 'west' }),
      svc('w4', { Host: '2001:db8::1' }),
      svc('x1', { Host: '192.0.2.7' }),
      svc('h1', { Host: 'web.example' }),
    ]);
  });
  after(() => f.close());

  it('answers PTR with the full service name of every instance at the address', async () => {
    expectReply(await f.query('3.2.1.10.in-addr.arpa', 'PTR'), {
      rcode: 'NOERROR',
      aa: true,
      answer: [
        '3.2.1.10.in-addr.arpa. 20 IN PTR w1.10-1-2-3.east.1-0-1.web.production.skydns.local.',
        '3.2.1.10.in-addr.arpa. 20 IN PTR w2.10-1-2-3.east.1-0-1.api.production.skydns.local.',
      ],
    });
    expectReply(await f.query('9.9.9.10.IN-ADDR.arpa', 'PTR'), { answer: ['9.9.9.10.IN-ADDR.arpa. 30 IN PTR w3.10-9-9-9.west.1-0-1.web.production.skydns.local.'] });
    expectReply(await f.query(`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.${V6}`, 'PTR'), {
      answer: [`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.${V6}. 30 IN PTR w4.2001-db8--1.east.1-0-1.web.production.skydns.local.`],
    });
  });

  it('is NXDOMAIN inside a reverse zone when no instance has the address, NODATA above one that does', async () => {
    expectReply(await f.query('4.2.1.10.in-addr.arpa', 'PTR'), { rcode: 'NXDOMAIN', aa: true, ns: [soaOf('10.in-addr.arpa')] });
    expectReply(await f.query('2.1.10.in-addr.arpa', 'PTR'), { rcode: 'NOERROR', answer: [], ns: [soaOf('10.in-addr.arpa')] });
    expectReply(await f.query('3.2.1.10.in-addr.arpa', 'A'), { rcode: 'NOERROR', answer: [], ns: [soaOf('10.in-addr.arpa')] });
    expectReply(await f.query('10.in-addr.arpa', 'SOA'), { answer: [`10.in-addr.arpa. 300 IN SOA ns.dns.skydns.local. hostmaster.skydns.local. ${SERIAL} 7200 1800 86400 30`] });
    expectReply(await f.query('10.in-addr.arpa', 'NS'), { answer: ['10.in-addr.arpa. 300 IN NS ns.dns.skydns.local.'] });
  });

  it('finds the names above an address by whole labels, not by string prefix', async () => {
    const g = await zoneFixture({ ptrZones: ['10.in-addr.arpa'] }, [svc('p1', { Host: '10.11.0.1' })]);
    try {
      expectReply(await g.query('11.10.in-addr.arpa', 'PTR'), { rcode: 'NOERROR', answer: [], ns: [soaOf('10.in-addr.arpa')] });
      expectReply(await g.query('0.11.10.in-addr.arpa', 'PTR'), { rcode: 'NOERROR', answer: [] });
      expectReply(await g.query('1.10.in-addr.arpa', 'PTR'), { rcode: 'NXDOMAIN' });
      expectReply(await g.query('1.0.11.10.in-addr.arpa', 'TXT'), { rcode: 'NOERROR', answer: [] });
      expectReply(await g.query('0.1.0.11.10.in-addr.arpa', 'PTR'), { rcode: 'NXDOMAIN' });
    } finally {
      await g.close();
    }
  });

  it('leaves reverse names outside its reverse zones to the next plugin', async () => {
    expectReply(await f.query('7.2.0.192.in-addr.arpa', 'PTR'), { rcode: 'REFUSED' });
  });

  it('drops an address once its last instance expires', async () => {
    f.clock.advance(20_000); // w2 (TTL 20) expires; w1 remains
    expectReply(await f.query('3.2.1.10.in-addr.arpa', 'PTR'), { answer: ['3.2.1.10.in-addr.arpa. 10 IN PTR w1.10-1-2-3.east.1-0-1.web.production.skydns.local.'] });
    f.clock.advance(10_000);
    expectReply(await f.query('3.2.1.10.in-addr.arpa', 'PTR'), { rcode: 'NXDOMAIN' });
    expectReply(await f.query('2.1.10.in-addr.arpa', 'PTR'), { rcode: 'NXDOMAIN' });
  });
});
