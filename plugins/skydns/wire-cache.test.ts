import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Reply } from '../../src/plugin.js';
import { answerGeneration } from '../../src/registry/generation.js';
import type { Registry, StoredService } from '../../src/registry/types.js';
import { expectReply } from '../../src/testing/harness.js';
import type { SkydnsHandler } from './handler.js';
import { Lifetime } from './lifetime.js';
import { resolveOptions, type SkydnsOptions } from './options.js';
import { AUTO_MIN, autoCapacity, WireCache } from './wire-cache.js';
import { svc, zoneFixture, type ZoneFixture } from './zone-fixture.js';

const NAME = 'web.production.skydns.local';

/** Counts registry lookups: a reply served from the pre-encoded map makes none. */
function countLookups(f: ZoneFixture): { n: number } {
  const c = { n: 0 };
  const query = f.registry.query.bind(f.registry);
  f.registry.query = (p) => {
    c.n++;
    return query(p);
  };
  return c;
}

const isWire = (r: Reply) => 'wire' in r;

describe('skydns pre-encoded answers', () => {
  let f: ZoneFixture;
  afterEach(() => f.close());

  it('serves a repeat query from the map, patched for the new client', async () => {
    f = await zoneFixture({}, [svc('w1')]);
    const lookups = countLookups(f);
    const first = await f.query(NAME, 'SRV', { id: 1 });
    assert.equal(lookups.n, 1);
    assert.ok(isWire(first.reply));
    const again = await f.query('WEB.Production.skydns.LOCAL', 'SRV', { id: 777, rd: false, cd: true });
    assert.equal(lookups.n, 1, 'no lookup for the second query');
    assert.equal(again.msg!.id, 777);
    assert.equal(again.msg!.rd, false);
    assert.equal(again.msg!.cd, true);
    assert.equal(again.msg!.questions[0]!.name, 'WEB.Production.skydns.LOCAL');
    expectReply(again, { aa: true, answer: ['WEB.Production.skydns.LOCAL. 30 IN SRV 10 100 8080 w1.skydns.local.'], extra: ['w1.skydns.local. 30 IN A 10.0.0.1'] });
    const third = await f.query(NAME, 'SRV', { id: 2, edns: { udpSize: 1232 } });
    assert.equal(third.msg!.cd, false);
    assert.equal(third.msg!.edns?.udpSize, 1232, 'the server still adds OPT to a wire reply');
    assert.equal((f.plugin as SkydnsHandler).cache.size, 1);
  });

  it('keeps its answers across heartbeats, and rebuilds them with the new lifetime at the old expiry', async () => {
    f = await zoneFixture({}, [svc('w1', { TTL: 30 }), svc('w2', { TTL: 30, Host: '10.0.0.2' })]);
    const lookups = countLookups(f);
    await f.query(NAME, 'SRV');
    f.clock.advance(10_000);
    await f.registry.refresh('w1');
    await f.registry.refresh('w2');
    const aged = await f.query(NAME, 'SRV');
    assert.equal(lookups.n, 1, 'heartbeats change no answer: served from the map');
    assert.match(aged.answer[0]!, / 20 IN SRV /, 'the kept answer ages towards the old expiry (conservative)');
    f.clock.advance(20_000);
    const rebuilt = await f.query(NAME, 'SRV');
    assert.equal(lookups.n, 2, 'rebuilt once the old expiry came');
    assert.match(rebuilt.answer[0]!, / 10 IN SRV /, 'with the lifetime the heartbeat gave (30 s from t=10 s)');
    await f.registry.remove('w2');
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 10 IN SRV 10 100 8080 w1.skydns.local.`], extra: ['w1.skydns.local. 10 IN A 10.0.0.1'] });
    assert.equal(lookups.n, 3, 'a deletion drops the kept answers at once');
  });

  it('ages TTLs by the whole seconds since encoding, and keeps fixed TTLs', async () => {
    f = await zoneFixture({}, [svc('w1', { TTL: 30 })]);
    const lookups = countLookups(f);
    await f.query(NAME, 'SRV');
    await f.query('nope.skydns.local', 'SRV');
    f.clock.advance(10_500);
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 20 IN SRV 10 100 8080 w1.skydns.local.`], extra: ['w1.skydns.local. 20 IN A 10.0.0.1'] });
    const soa = (await f.query('nope.skydns.local', 'SRV')).ns;
    assert.match(soa[0]!, /^skydns\.local\. 30 IN SOA /, 'the SOA of a negative answer does not count down');
    assert.equal(lookups.n, 2, 'both served from the map');
  });

  it('hides an instance the moment it expires, before the registry has swept it', async () => {
    f = await zoneFixture({}, [svc('w1', { TTL: 30 }), svc('w2', { TTL: 60, Host: '10.0.0.2' })]);
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 30 IN SRV 10 50 8080 w1.skydns.local.`, `${NAME}. 30 IN SRV 10 50 8080 w2.skydns.local.`] });
    f.clock.advance(29_000);
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 1 IN SRV 10 50 8080 w1.skydns.local.`, `${NAME}. 1 IN SRV 10 50 8080 w2.skydns.local.`] });
    const before = answerGeneration(f.registry).version;
    f.clock.advance(1000); // w1 expires now; the sweeper's removal is still being written
    const r = await f.query(NAME, 'SRV');
    assert.equal((r.reply as { depends?: { version: number } }).depends?.version, before, 'answered before the removal was committed');
    expectReply(r, { answer: [`${NAME}. 30 IN SRV 10 100 8080 w2.skydns.local.`], extra: ['w2.skydns.local. 30 IN A 10.0.0.2'] });
    await f.registry.flush();
    assert.ok(answerGeneration(f.registry).version > before);
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 30 IN SRV 10 100 8080 w2.skydns.local.`] });
    f.clock.advance(30_000);
    expectReply(await f.query(NAME, 'SRV'), { rcode: 'NXDOMAIN' });
  });

  it('drops every pre-encoded answer when the registry changes', async () => {
    f = await zoneFixture({}, [svc('w1')]);
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 30 IN SRV 10 100 8080 w1.skydns.local.`] });
    expectReply(await f.query('api.production.skydns.local', 'SRV'), { rcode: 'NXDOMAIN' });
    await f.put(svc('w2', { Host: 'web2.example' }), svc('a1', { Name: 'api', Host: 'api.example' }));
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 30 IN SRV 10 50 8080 w1.skydns.local.`, `${NAME}. 30 IN SRV 10 50 8080 web2.example.`] });
    expectReply(await f.query('api.production.skydns.local', 'SRV'), { rcode: 'NOERROR', answer: ['api.production.skydns.local. 30 IN SRV 10 100 8080 api.example.'] });
    await f.registry.remove('w1');
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 30 IN SRV 10 100 8080 web2.example.`] });
  });

  it('holds a TTL clamped to maxTtl until the record really counts down below it', async () => {
    f = await zoneFixture({ maxTtl: 60 }, [svc('w1', { TTL: 600, Host: 'w1.example' })]);
    const lookups = countLookups(f);
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 60 IN SRV 10 100 8080 w1.example.`] });
    f.clock.advance(100_000);
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 60 IN SRV 10 100 8080 w1.example.`] });
    assert.equal(lookups.n, 1);
    f.clock.advance(450_000); // 50 s left
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 50 IN SRV 10 100 8080 w1.example.`] });
    f.clock.advance(20_000);
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 30 IN SRV 10 100 8080 w1.example.`] });
  });

  it('keeps at most wireCache answers, and none with 0', async () => {
    f = await zoneFixture({ wireCache: 2 }, [svc('w1')]);
    for (const q of ['a', 'b', 'c', 'd']) await f.query(`${q}.skydns.local`, 'SRV');
    assert.equal((f.plugin as SkydnsHandler).cache.size, 2);
    await f.close();
    f = await zoneFixture({ wireCache: 0 }, [svc('w1')]);
    const lookups = countLookups(f);
    await f.query(NAME, 'SRV');
    expectReply(await f.query(NAME, 'SRV'), { answer: [`${NAME}. 30 IN SRV 10 100 8080 w1.skydns.local.`] });
    assert.equal(lookups.n, 2);
  });

  it('keeps ANY over UDP and over TCP apart', async () => {
    f = await zoneFixture({}, [svc('w1')]);
    expectReply(await f.query(NAME, 'ANY'), { answer: [`${NAME}. 300 IN HINFO {"cpu":"RFC8482","os":""}`] });
    expectReply(await f.query(NAME, 'ANY', { transport: 'tcp' }), { answer: [`${NAME}. 30 IN SRV 10 100 8080 w1.skydns.local.`] });
    expectReply(await f.query(NAME, 'ANY'), { answer: [`${NAME}. 300 IN HINFO {"cpu":"RFC8482","os":""}`] });
  });
});

describe('wireCache sizing and eviction', () => {
  /** A registry of `names` service names with `per` instances each, as far as autoCapacity reads it. */
  function fakeRegistry(names: number, per: number): Registry & { version: number; lists: number } {
    const list = () => {
      r.lists++;
      const out: StoredService[] = [];
      for (let n = 0; n < names; n++) {
        for (let i = 0; i < per; i++) {
          out.push({ UUID: `s${n}i${i}`, Name: `svc${n}`, Environment: i % 2 ? 'production' : 'Production', Version: '1', Region: 'east', Host: '10.0.0.1', Port: 1, TTL: 30, expiresAt: Infinity });
        }
      }
      return out;
    };
    const r = { version: 1, lists: 0, list, onChange: () => () => undefined } as unknown as Registry & { version: number; lists: number };
    return r;
  }

  it('defaults to "auto"', () => {
    const o = { zone: 'skydns.local', order: ['uuid'], minTtl: 1, maxTtl: 60, soa: {}, ptrZones: [], addresses: 'next', wireCache: 'auto' } as unknown as SkydnsOptions;
    assert.equal(resolveOptions(o).wireCache, 'auto');
  });

  it('"auto" is max(4096, 2 × the distinct service names), counted once per answers generation', () => {
    const small = autoCapacity(fakeRegistry(10, 3));
    assert.equal(small(), AUTO_MIN);
    const reg = fakeRegistry(5000, 2); // environments differ only in case: one name each
    const cap = autoCapacity(reg);
    assert.equal(cap(), 10_000);
    assert.equal(cap(), 10_000);
    assert.equal(reg.lists, 1, 'not recounted while the registry is unchanged');
    reg.version++;
    cap();
    assert.equal(reg.lists, 2);
  });

  it('a cyclic scan over more names than it holds still hits (oldest-first missed every time)', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const c = new WireCache(1000, random);
    c.sync(1);
    let hits = 0;
    let lookups = 0;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 1500; i++) {
        const key = `33/svc${i}.production.skydns.local`;
        const hit = c.get(key, 0) !== undefined;
        if (!hit) c.set(key, { kind: 'delegate', until: Infinity });
        if (round > 0) {
          lookups++;
          if (hit) hits++;
        }
      }
    }
    assert.equal(c.size, 1000);
    assert.ok(hits / lookups > 0.25, `hit ratio ${(hits / lookups).toFixed(3)}`);
  });
});

describe('Lifetime', () => {
  const now = 1_000_000;
  const s = (ttlMs: number | null, TTL = 0) => ({ expiresAt: ttlMs === null ? Infinity : now + ttlMs, TTL }) as StoredService;

  it('takes the smallest remaining TTL, rounded up, and ages when it counts down', () => {
    const l = new Lifetime(now, 1, 3600);
    assert.equal(l.rrset([s(30_000), s(9_200)]), 10);
    assert.equal(l.aging, true);
    assert.equal(l.validUntil(), now + 9_200);
  });

  it('does not age fixed or clamped TTLs, and lapses when the clamp would let go', () => {
    const l = new Lifetime(now, 5, 60);
    assert.equal(l.fixed(300), 300);
    assert.equal(l.rrset([s(600_000)]), 60);
    assert.equal(l.rrset([s(null, 45)]), 45);
    assert.equal(l.aging, false);
    assert.equal(l.validUntil(), now + 540_000);
    const low = new Lifetime(now, 5, 60);
    assert.equal(low.rrset([s(2_000)]), 5);
    assert.equal(low.aging, false);
    assert.equal(low.validUntil(), now + 2_000);
  });
});
