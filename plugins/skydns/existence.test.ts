/**
 * Which names of the zone exist (RFC 1034 §3.1/§4.3.2, RFC 8020 §2): every
 * name with data, and every name above one (an empty non-terminal), answers
 * NOERROR; NXDOMAIN only for names with nothing at or below them. Cases are
 * query → rcode and records, in presentation form.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectReply } from '../../src/testing/harness.js';
import { svc, zoneFixture, type ZoneFixture } from './zone-fixture.js';

const SERIAL = 1767225600; // the ManualClock's start, in seconds
const SOA = `skydns.local. 30 IN SOA ns.dns.skydns.local. hostmaster.skydns.local. ${SERIAL} 7200 1800 86400 30`;
const TYPES = ['A', 'AAAA', 'CNAME', 'SRV', 'TXT', 'MX', 'PTR', 'NS', 'SOA', 'ANY'];

/** [query name, its rcode for every type in TYPES]: NOERROR rows are NODATA (no answer, the SOA). */
type Row = [string, 'NOERROR' | 'NXDOMAIN'];

describe('skydns zone: empty non-terminals and NXDOMAIN', () => {
  let f: ZoneFixture;
  before(async () => {
    f = await zoneFixture({ ptrZones: ['10.in-addr.arpa'] }, [
      svc('w1'),
      svc('d1', { Name: 'db', Environment: 'Staging', Region: 'west', Host: '10.0.0.9' }),
    ]);
  });
  after(() => f.close());

  const rows: Row[] = [
    // the parents of the RFC 2782 names _web._tcp.production and _db._udp.staging
    ['_tcp.production.skydns.local', 'NOERROR'],
    ['_udp.production.skydns.local', 'NOERROR'],
    ['_TCP.Production.skydns.local', 'NOERROR'],
    ['_tcp.staging.skydns.local', 'NOERROR'],
    ['_udp.STAGING.skydns.local', 'NOERROR'],
    // wildcards stand for any real label, here too
    ['_tcp.any.skydns.local', 'NOERROR'],
    ['_tcp.*.skydns.local', 'NOERROR'],
    // nothing below
    ['_tcp.nothing.skydns.local', 'NXDOMAIN'],
    ['_sctp.production.skydns.local', 'NXDOMAIN'],
    ['x._tcp.production.skydns.local', 'NXDOMAIN'],
    ['_db._tcp.production.skydns.local', 'NXDOMAIN'],
    ['_._tcp.production.skydns.local', 'NXDOMAIN'],
    ['nothing.production.skydns.local', 'NXDOMAIN'],
    ['a.b.c.d.e.f.g.skydns.local', 'NXDOMAIN'],
    // the reverse zone: 10.0.0.1 and 10.0.0.9 make 0.0.10 and 0.10 exist
    ['0.10.in-addr.arpa', 'NOERROR'],
    ['0.0.10.in-addr.arpa', 'NOERROR'],
    ['2.0.0.10.in-addr.arpa', 'NXDOMAIN'],
    ['1.10.in-addr.arpa', 'NXDOMAIN'],
  ];
  for (const [name, rcode] of rows) {
    it(`${name}: ${rcode} for every type`, async () => {
      const soa = name.endsWith('in-addr.arpa') ? SOA.replace('skydns.local. 30', '10.in-addr.arpa. 30') : SOA;
      for (const type of TYPES) {
        const r = await f.query(name, type);
        try {
          expectReply(r, { rcode, aa: true, answer: [], ns: [soa] });
        } catch (err) {
          (err as Error).message = `${name} ${type}: ${(err as Error).message}`;
          throw err;
        }
      }
    });
  }

  it('answers every depth of a service name, in any case, and NODATA for its other types', async () => {
    const names = [
      'production.skydns.local',
      'web.production.skydns.local',
      '1-0-1.web.production.skydns.local',
      'east.1-0-1.web.production.skydns.local',
      '10-0-0-1.east.1-0-1.web.production.skydns.local',
      'W1.10-0-0-1.EAST.1-0-1.Web.Production.skydns.local',
      'w1.skydns.local',
      '_web._tcp.production.skydns.local',
    ];
    for (const name of names) {
      expectReply(await f.query(name, 'SRV'), { rcode: 'NOERROR', aa: true, answer: [`${name}. 30 IN SRV 10 100 8080 w1.skydns.local.`], ns: [] });
      expectReply(await f.query(name, 'TXT'), { rcode: 'NOERROR', aa: true, answer: [], ns: [SOA] });
    }
  });

  it('answers the parent of an RFC 2782 name NODATA only while something lives in its environment', async () => {
    const g = await zoneFixture({}, [svc('w9', { TTL: 10 })]);
    try {
      expectReply(await g.query('_tcp.production.skydns.local', 'SRV'), { rcode: 'NOERROR', answer: [], ns: [SOA] });
      g.clock.advance(10_000); // w9 expires; hidden at once, before the sweeper removes it
      expectReply(await g.query('_tcp.production.skydns.local', 'SRV'), { rcode: 'NXDOMAIN', ns: [SOA] });
    } finally {
      await g.close();
    }
  });

  it('with an order that does not end with the environment, <environment> exists above its RFC 2782 names', async () => {
    const g = await zoneFixture({ order: ['uuid', 'environment', 'name'] }, [svc('w1')]);
    try {
      expectReply(await g.query('web.skydns.local', 'SRV'), { answer: ['web.skydns.local. 30 IN SRV 10 100 8080 w1.skydns.local.'] });
      expectReply(await g.query('_web._tcp.production.skydns.local', 'SRV'), { answer: ['_web._tcp.production.skydns.local. 30 IN SRV 10 100 8080 w1.skydns.local.'] });
      expectReply(await g.query('production.skydns.local', 'SRV'), { rcode: 'NOERROR', aa: true, answer: [], ns: [SOA] });
      expectReply(await g.query('_tcp.production.skydns.local', 'A'), { rcode: 'NOERROR', aa: true, answer: [], ns: [SOA] });
      expectReply(await g.query('staging.skydns.local', 'SRV'), { rcode: 'NXDOMAIN', ns: [SOA] });
    } finally {
      await g.close();
    }
  });
});

describe('skydns zone: the apex always exists', () => {
  it('answers NODATA (never NXDOMAIN) at the apex of an empty zone, for every type but SOA and NS', async () => {
    const f = await zoneFixture();
    try {
      for (const type of ['A', 'AAAA', 'CNAME', 'SRV', 'TXT', 'MX', 'PTR', 'CAA']) {
        // `next` is the rest of the chain: synth would say the apex selects no instance
        const r = await f.query('skydns.local', type, {}, async () => ({ msg: { rcode: 3, flags: { aa: true } } }));
        expectReply(r, { rcode: 'NOERROR', aa: true, answer: [], ns: [SOA] });
      }
      // (the SOA's names compress against the question, so they come back in the client's spelling)
      expectReply(await f.query('SkyDNS.Local', 'A'), { rcode: 'NOERROR', aa: true, answer: [], ns: [SOA.replace(/skydns\.local/g, 'SkyDNS.Local')] });
      expectReply(await f.query('skydns.local', 'NS'), { rcode: 'NOERROR', answer: ['skydns.local. 300 IN NS ns.dns.skydns.local.'] });
    } finally {
      await f.close();
    }
  });
});

describe('skydns zone: no CNAME beside other data', () => {
  it('answers NODATA where the rest of the chain would put a CNAME beside the SRV records or the apex SOA and NS', async () => {
    const f = await zoneFixture({}, [svc('h1', { Host: 'one.example', Name: 'db' })]);
    try {
      const cname = (owner: string) => async () => ({ msg: { rcode: 0, flags: { aa: true }, answers: [{ name: owner, type: 'CNAME', ttl: 30, data: 'one.example' }] } });
      for (const [name, type] of [['db.production.skydns.local', 'A'], ['db.production.skydns.local', 'CNAME'], ['skydns.local', 'A'], ['h1.skydns.local', 'AAAA']] as const) {
        expectReply(await f.query(name, type, {}, cname(name)), { rcode: 'NOERROR', aa: true, answer: [], ns: [SOA] });
      }
      expectReply(await f.query('db.production.skydns.local', 'SRV'), { answer: ['db.production.skydns.local. 30 IN SRV 10 100 8080 one.example.'] });
    } finally {
      await f.close();
    }
  });
});

describe('skydns zone: existence is consistent at every depth', () => {
  it('answers every ancestor of every name with records, and no name below an NXDOMAIN', async () => {
    const services = [
      svc('w1'),
      svc('W2', { Host: 'Web2.Example.org', Region: 'West', Version: '2.0' }),
      svc('d1', { Name: 'db', Environment: 'Staging', Host: '10.0.0.9' }),
      svc('v6', { Name: 'api', Host: '2001:db8::1', Environment: 'dev' }),
    ];
    const f = await zoneFixture({ ptrZones: ['10.in-addr.arpa', '8.b.d.0.1.0.0.2.ip6.arpa'] }, services);
    try {
      const names = new Set<string>();
      const label = (v: string) => v.toLowerCase().replace(/[.:]/g, '-');
      for (const s of services) {
        const chain = [s.UUID, s.Host, s.Region, s.Version, s.Name, s.Environment].map(label);
        names.add(`${chain.join('.')}.skydns.local`);
        names.add(`_${label(s.Name)}._tcp.${label(s.Environment)}.skydns.local`);
        names.add(`_${label(s.Name)}._udp.${label(s.Environment)}.skydns.local`);
        // wildcards at each position, and a wrong label at each position
        for (let i = 0; i < chain.length; i++) {
          names.add(`${chain.map((l, j) => (j === i ? (i % 2 ? '*' : 'any') : l)).join('.')}.skydns.local`);
          names.add(`${chain.map((l, j) => (j === i ? 'nope' : l)).join('.')}.skydns.local`);
        }
      }
      names.add('1.0.0.10.in-addr.arpa');
      names.add('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
      // every ancestor, down to the zone apexes
      for (const n of [...names]) {
        const labels = n.split('.');
        for (let i = 1; i < labels.length; i++) {
          const a = labels.slice(i).join('.');
          if (a === 'skydns.local' || a.endsWith('in-addr.arpa') || a.endsWith('ip6.arpa')) names.add(a);
          if (a === 'skydns.local' || a === '10.in-addr.arpa' || a === '8.b.d.0.1.0.0.2.ip6.arpa') break;
          names.add(a);
        }
      }
      const rcode = new Map<string, string>();
      for (const n of names) {
        // TXT: no name in the zone has any, so every answer is NODATA or NXDOMAIN
        const r = await f.query(n, 'TXT');
        rcode.set(n, r.rcode);
        // the same in another spelling
        assert.equal((await f.query(n.toUpperCase(), 'TXT')).rcode, r.rcode, n);
      }
      const exists = (n: string) => rcode.get(n) === 'NOERROR';
      for (const n of names) {
        if (!exists(n)) continue;
        const labels = n.split('.');
        for (let i = 1; i < labels.length; i++) {
          const a = labels.slice(i).join('.');
          if (rcode.has(a)) assert.ok(exists(a), `${n} exists but its ancestor ${a} is ${rcode.get(a)}`);
        }
      }
      // every real name is there, and the wrong-label ones are not
      for (const s of services) {
        const chain = [s.UUID, s.Host, s.Region, s.Version, s.Name, s.Environment].map(label);
        assert.ok(exists(`${chain.join('.')}.skydns.local`));
        assert.ok(!exists(`${chain.map((l, j) => (j === 4 ? 'nope' : l)).join('.')}.skydns.local`));
      }
    } finally {
      await f.close();
    }
  });
});
