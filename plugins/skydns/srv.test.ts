import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectReply, type ExpectedReply } from '../../src/testing/harness.js';
import type { StoredService } from '../../src/registry/types.js';
import { weights } from './srv.js';
import { svc, zoneFixture, type ZoneFixture } from './zone-fixture.js';

const SOA = 'skydns.local. 30 IN SOA ns.dns.skydns.local. hostmaster.skydns.local. 1767225600 7200 1800 86400 30';

interface Case extends ExpectedReply {
  q: string;
  type?: string;
}

function table(f: () => ZoneFixture, cases: Case[]): void {
  for (const c of cases) {
    it(`${c.type ?? 'SRV'} ${c.q}`, async () => {
      const { q, type, ...expected } = c;
      expectReply(await f().query(q, type ?? 'SRV'), expected);
    });
  }
}

describe('skydns SRV answers', () => {
  let f: ZoneFixture;
  before(async () => {
    f = await zoneFixture({}, [
      svc('w1'),
      svc('w2', { Region: 'west', Host: '10.0.0.2' }),
      svc('w3', { Version: '2.0', Host: 'web3.example', Port: 8081 }),
      svc('db1', { Name: 'db', Host: 'db1.example', Port: 5432 }),
      svc('s1', { Environment: 'staging', Host: '2001:db8::1', Port: 9000 }),
    ]);
  });
  after(() => f.close());

  const all3 = {
    answer: [
      'web.production.skydns.local. 30 IN SRV 10 33 8080 w1.skydns.local.',
      'web.production.skydns.local. 30 IN SRV 10 33 8080 w2.skydns.local.',
      'web.production.skydns.local. 30 IN SRV 10 33 8081 web3.example.',
    ],
    extra: ['w1.skydns.local. 30 IN A 10.0.0.1', 'w2.skydns.local. 30 IN A 10.0.0.2'],
  };

  describe('names and wildcards', () => {
    table(() => f, [
      { q: 'web.production.skydns.local', rcode: 'NOERROR', aa: true, ...all3 },
      // environment position
      { q: 'web.any.skydns.local', answer: [
        'web.any.skydns.local. 30 IN SRV 10 25 9000 s1.skydns.local.',
        'web.any.skydns.local. 30 IN SRV 10 25 8080 w1.skydns.local.',
        'web.any.skydns.local. 30 IN SRV 10 25 8080 w2.skydns.local.',
        'web.any.skydns.local. 30 IN SRV 10 25 8081 web3.example.',
      ] },
      { q: 'web.*.skydns.local', extra: ['s1.skydns.local. 30 IN AAAA 2001:db8::1', ...all3.extra] },
      // name position
      { q: '*.production.skydns.local', answer: [
        '*.production.skydns.local. 30 IN SRV 10 25 5432 db1.example.',
        '*.production.skydns.local. 30 IN SRV 10 25 8080 w1.skydns.local.',
        '*.production.skydns.local. 30 IN SRV 10 25 8080 w2.skydns.local.',
        '*.production.skydns.local. 30 IN SRV 10 25 8081 web3.example.',
      ] },
      { q: 'staging.skydns.local', answer: ['staging.skydns.local. 30 IN SRV 10 100 9000 s1.skydns.local.'], extra: ['s1.skydns.local. 30 IN AAAA 2001:db8::1'] },
      // version position: dots become '-'
      { q: '1-0-1.web.production.skydns.local', answer: [
        '1-0-1.web.production.skydns.local. 30 IN SRV 10 50 8080 w1.skydns.local.',
        '1-0-1.web.production.skydns.local. 30 IN SRV 10 50 8080 w2.skydns.local.',
      ] },
      { q: '2-0.web.production.skydns.local', answer: ['2-0.web.production.skydns.local. 30 IN SRV 10 100 8081 web3.example.'], extra: [] },
      { q: 'any.web.production.skydns.local', answer: all3.answer.map((a) => a.replace('web.production', 'any.web.production')) },
      // host position (10.0.0.1 → 10-0-0-1), with region and version as wildcards
      { q: '10-0-0-1.any.any.web.production.skydns.local', answer: ['10-0-0-1.any.any.web.production.skydns.local. 30 IN SRV 10 100 8080 w1.skydns.local.'], extra: ['w1.skydns.local. 30 IN A 10.0.0.1'] },
      { q: 'web3-example.*.*.web.production.skydns.local', answer: ['web3-example.*.*.web.production.skydns.local. 30 IN SRV 10 100 8081 web3.example.'] },
      // uuid position
      { q: 'w2.any.any.any.web.production.skydns.local', answer: ['w2.any.any.any.web.production.skydns.local. 30 IN SRV 10 100 8080 w2.skydns.local.'] },
      { q: 'w2.10-0-0-2.west.1-0-1.web.production.skydns.local', answer: ['w2.10-0-0-2.west.1-0-1.web.production.skydns.local. 30 IN SRV 10 100 8080 w2.skydns.local.'] },
      // <uuid>.<zone>: the instance itself
      { q: 'w1.skydns.local', answer: ['w1.skydns.local. 30 IN SRV 10 100 8080 w1.skydns.local.'] },
      // RFC 2782 form
      { q: '_web._tcp.production.skydns.local', answer: all3.answer.map((a) => a.replace('web.production', '_web._tcp.production')) },
      // the apex selects everything
      { q: 'skydns.local', answer: [
        'skydns.local. 30 IN SRV 10 20 5432 db1.example.',
        'skydns.local. 30 IN SRV 10 20 9000 s1.skydns.local.',
        'skydns.local. 30 IN SRV 10 20 8080 w1.skydns.local.',
        'skydns.local. 30 IN SRV 10 20 8080 w2.skydns.local.',
        'skydns.local. 30 IN SRV 10 20 8081 web3.example.',
      ] },
      // matches nothing, or more labels than the scheme has
      { q: 'mail.production.skydns.local', rcode: 'NXDOMAIN', aa: true, answer: [], ns: [SOA] },
      { q: 'w1.10-0-0-1.east.1-0-1.web.production.extra.skydns.local', rcode: 'NXDOMAIN', ns: [SOA] },
      { q: '9-9.web.production.skydns.local', rcode: 'NXDOMAIN', ns: [SOA] },
    ]);
  });

  describe('region priority with fallback', () => {
    table(() => f, [
      { q: 'east.any.web.production.skydns.local', answer: [
        'east.any.web.production.skydns.local. 30 IN SRV 10 50 8080 w1.skydns.local.',
        'east.any.web.production.skydns.local. 30 IN SRV 10 50 8081 web3.example.',
        'east.any.web.production.skydns.local. 30 IN SRV 20 100 8080 w2.skydns.local.',
      ], extra: ['w1.skydns.local. 30 IN A 10.0.0.1', 'w2.skydns.local. 30 IN A 10.0.0.2'] },
      { q: 'West.*.web.production.skydns.local', answer: [
        'West.*.web.production.skydns.local. 30 IN SRV 10 100 8080 w2.skydns.local.',
        'West.*.web.production.skydns.local. 30 IN SRV 20 50 8080 w1.skydns.local.',
        'West.*.web.production.skydns.local. 30 IN SRV 20 50 8081 web3.example.',
      ] },
      // no instance in the region: every instance is a fallback
      { q: 'north.1-0-1.web.production.skydns.local', answer: [
        'north.1-0-1.web.production.skydns.local. 30 IN SRV 20 50 8080 w1.skydns.local.',
        'north.1-0-1.web.production.skydns.local. 30 IN SRV 20 50 8080 w2.skydns.local.',
      ] },
    ]);
  });
});

describe('skydns SRV priority, weight and TTL', () => {
  it('uses the registered Priority when no region is asked, 10 when absent', async () => {
    const f = await zoneFixture({}, [svc('a', { Priority: 5 }), svc('b', { Host: 'b.example' }), svc('c', { Priority: 5, Host: 'c.example' })]);
    try {
      expectReply(await f.query('web.production.skydns.local', 'SRV'), { answer: [
        'web.production.skydns.local. 30 IN SRV 5 50 8080 a.skydns.local.',
        'web.production.skydns.local. 30 IN SRV 5 50 8080 c.example.',
        'web.production.skydns.local. 30 IN SRV 10 100 8080 b.example.',
      ] });
      // a region in the name overrides the registered priorities
      expectReply(await f.query('east.any.web.production.skydns.local', 'SRV'), { answer: [
        'east.any.web.production.skydns.local. 30 IN SRV 10 33 8080 a.skydns.local.',
        'east.any.web.production.skydns.local. 30 IN SRV 10 33 8080 b.example.',
        'east.any.web.production.skydns.local. 30 IN SRV 10 33 8080 c.example.',
      ] });
    } finally {
      await f.close();
    }
  });

  it('gives weights as shares of 100 of the registered Weight', async () => {
    const f = await zoneFixture({}, [svc('a', { Weight: 60, Host: 'a.example' }), svc('b', { Weight: 20, Host: 'b.example' }), svc('c', { Host: 'c.example' })]);
    try {
      // c has no Weight: it counts as the average (40) of the others
      expectReply(await f.query('web.production.skydns.local', 'SRV'), { answer: [
        'web.production.skydns.local. 30 IN SRV 10 50 8080 a.example.',
        'web.production.skydns.local. 30 IN SRV 10 16 8080 b.example.',
        'web.production.skydns.local. 30 IN SRV 10 33 8080 c.example.',
      ] });
    } finally {
      await f.close();
    }
  });

  it('never gives a live instance weight 0', () => {
    const s = (w?: number) => ({ Weight: w }) as StoredService;
    assert.deepEqual(weights([s(0), s(100)]), [1, 100]);
    assert.deepEqual(weights([s(0), s(0)]), [50, 50]);
    assert.deepEqual(weights([s(), s(), s()]), [33, 33, 33]);
    assert.deepEqual(weights(Array.from({ length: 150 }, () => s())), new Array(150).fill(1));
    assert.deepEqual(weights([s(1), s(1000)]), [1, 99]);
  });

  it('gives the SRV set the smallest remaining TTL and each address its own', async () => {
    const f = await zoneFixture({}, [svc('a'), svc('b', { TTL: 10, Host: '10.0.0.2' })]);
    try {
      f.clock.advance(4000);
      expectReply(await f.query('web.production.skydns.local', 'SRV'), {
        answer: ['web.production.skydns.local. 6 IN SRV 10 50 8080 a.skydns.local.', 'web.production.skydns.local. 6 IN SRV 10 50 8080 b.skydns.local.'],
        extra: ['a.skydns.local. 26 IN A 10.0.0.1', 'b.skydns.local. 6 IN A 10.0.0.2'],
      });
    } finally {
      await f.close();
    }
  });

  it('clamps TTLs to [minTtl, maxTtl]', async () => {
    const f = await zoneFixture({ minTtl: 5, maxTtl: 60 }, [svc('a', { TTL: 7200, Host: 'a.example' }), svc('b', { TTL: 8, Host: 'b.example', Name: 'api' })]);
    try {
      expectReply(await f.query('web.production.skydns.local', 'SRV'), { answer: ['web.production.skydns.local. 60 IN SRV 10 100 8080 a.example.'] });
      f.clock.advance(6000); // b has 2 s left
      expectReply(await f.query('api.production.skydns.local', 'SRV'), { answer: ['api.production.skydns.local. 5 IN SRV 10 100 8080 b.example.'] });
    } finally {
      await f.close();
    }
  });

  it('answers a NoExpire service with its registered TTL, or maxTtl when that is 0', async () => {
    const f = await zoneFixture({ maxTtl: 600 }, [
      svc('a', { NoExpire: true, TTL: 0, Host: 'a.example' }),
      svc('b', { NoExpire: true, TTL: 45, Host: 'b.example', Name: 'api' }),
    ]);
    try {
      f.clock.advance(3_600_000);
      expectReply(await f.query('web.production.skydns.local', 'SRV'), { answer: ['web.production.skydns.local. 600 IN SRV 10 100 8080 a.example.'] });
      expectReply(await f.query('api.production.skydns.local', 'SRV'), { answer: ['api.production.skydns.local. 45 IN SRV 10 100 8080 b.example.'] });
    } finally {
      await f.close();
    }
  });

  it('reads names in the configured label order', async () => {
    const order = ['host', 'version', 'region', 'name', 'environment'];
    const f = await zoneFixture({ order }, [svc('w1'), svc('w2', { Region: 'west', Host: '10.0.0.2', Version: '2' })]);
    try {
      expectReply(await f.query('10-0-0-1.1-0-1.east.web.production.skydns.local', 'SRV'), { answer: ['10-0-0-1.1-0-1.east.web.production.skydns.local. 30 IN SRV 10 100 8080 w1.skydns.local.'] });
      expectReply(await f.query('2.any.web.production.skydns.local', 'SRV'), { answer: ['2.any.web.production.skydns.local. 30 IN SRV 10 100 8080 w2.skydns.local.'] });
      expectReply(await f.query('west.web.production.skydns.local', 'SRV'), { answer: [
        'west.web.production.skydns.local. 30 IN SRV 10 100 8080 w2.skydns.local.',
        'west.web.production.skydns.local. 30 IN SRV 20 100 8080 w1.skydns.local.',
      ] });
      // six labels is one more than this order has
      expectReply(await f.query('w1.10-0-0-1.1-0-1.east.web.production.skydns.local', 'SRV'), { rcode: 'NXDOMAIN' });
      // <uuid>.<zone> still names the instance
      expectReply(await f.query('w2.skydns.local', 'SRV'), { answer: ['w2.skydns.local. 30 IN SRV 10 100 8080 w2.skydns.local.'] });
    } finally {
      await f.close();
    }
  });

  it('keeps the client spelling of the name (0x20) in the question and the answer', async () => {
    const f = await zoneFixture({}, [svc('w1')]);
    try {
      const r = await f.query('wEb.PrODuction.SkYdNs.LoCaL', 'SRV');
      assert.equal(r.msg!.questions[0]!.name, 'wEb.PrODuction.SkYdNs.LoCaL');
      expectReply(r, { answer: ['wEb.PrODuction.SkYdNs.LoCaL. 30 IN SRV 10 100 8080 w1.skydns.local.'], extra: ['w1.skydns.local. 30 IN A 10.0.0.1'] });
      const n = await f.query('NOPE.production.SKYDNS.local', 'SRV');
      expectReply(n, { rcode: 'NXDOMAIN', ns: [SOA.replaceAll('skydns.local.', 'SKYDNS.local.')] });
    } finally {
      await f.close();
    }
  });
});
