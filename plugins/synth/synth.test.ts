import assert from 'node:assert/strict';
import { answerGeneration } from '../../src/registry/generation.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { Rcode } from '../../src/dns/types.js';
import { silentLogger } from '../../src/logger.js';
import type { Next, Plugin, Request } from '../../src/plugin.js';
import { EmbeddedRegistry } from '../../src/registry/embedded.js';
import type { Service } from '../../src/registry/types.js';
import { expectReply, runPlugin, setupPlugin, type TestQuery, type TestReply } from '../../src/testing/harness.js';
import synth from './index.js';

const svc = (uuid: string, over: Partial<Service> = {}): Service =>
  ({ UUID: uuid, Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 8080, TTL: 30, ...over });

interface Fixture {
  clock: ManualClock;
  registry: EmbeddedRegistry;
  plugin: Plugin;
  query(name: string, type: string, extra?: Partial<TestQuery>, next?: Next): Promise<TestReply>;
  close(): Promise<void>;
}

async function fixture(opts: Record<string, unknown>, services: Service[]): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-synth-'));
  const clock = new ManualClock();
  const registry = new EmbeddedRegistry({ path: dir, clock, logger: silentLogger, fsync: false });
  await registry.start();
  for (const s of services) await registry.put(s);
  const plugin = await setupPlugin(synth, opts, { clock, registryInstance: registry });
  return {
    clock,
    registry,
    plugin,
    query: (name, type, extra = {}, next) => runPlugin(plugin, { name, type, ...extra }, next, clock),
    async close() {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The rest of the chain: records what it was asked and answers `make(req)`. */
function downstream(make: (req: Request) => ReturnType<Next>): Next & { asked: string[] } {
  const asked: string[] = [];
  const fn = ((req?: Request) => {
    asked.push(`${req!.type} ${req!.qname}`);
    return make(req!);
  }) as Next & { asked: string[] };
  fn.asked = asked;
  return fn;
}

const W = 'web.production.skydns.local';

describe('synth', () => {
  let f: Fixture;
  afterEach(() => f.close());

  it('answers A and AAAA from the instances registered by address, rotating the start', async () => {
    f = await fixture({}, [
      svc('w1'), svc('w2', { Host: '10.0.0.2' }), svc('w3', { Host: '10.0.0.3', TTL: 20 }),
      svc('w4', { Host: '2001:db8::4' }), svc('h1', { Host: 'web.example' }),
    ]);
    const firsts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await f.query(W, 'A');
      expectReply(r, { rcode: 'NOERROR', aa: true, anyOrder: true, answer: [`${W}. 20 IN A 10.0.0.1`, `${W}. 20 IN A 10.0.0.2`, `${W}. 20 IN A 10.0.0.3`], ns: [] });
      firsts.push(r.answer[0]!);
    }
    assert.deepEqual(firsts.map((a) => a.split(' ').pop()), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
    expectReply(await f.query(W, 'AAAA'), { answer: [`${W}. 30 IN AAAA 2001:db8::4`] });
  });

  it('never answers a CNAME: names selecting instances registered by name are NODATA (RFC 1034 §3.6.2, RFC 2181 §10.1)', async () => {
    f = await fixture({}, [svc('h1', { Host: 'one.example', Name: 'db' }), svc('h2', { Host: 'two.example', Name: 'mq' }), svc('h3', { Host: 'three.example', Name: 'mq' })]);
    // every one of these names owns SRV records (the apex SOA and NS too): no CNAME may stand there
    const never = downstream(() => assert.fail('asked'));
    const rows: [string, string][] = [
      ['db.production.skydns.local', 'A'],
      ['db.production.skydns.local', 'AAAA'],
      ['db.production.skydns.local', 'CNAME'],
      ['mq.production.skydns.local', 'A'],
      ['h3.skydns.local', 'AAAA'],
      ['skydns.local', 'A'],
      ['skydns.local', 'CNAME'],
    ];
    for (const [name, type] of rows) {
      expectReply(await f.query(name, type, {}, never), { rcode: 'NOERROR', aa: true, answer: [], ns: [] });
      expectReply(await f.query(name, type, { rd: false }, never), { rcode: 'NOERROR', aa: true, answer: [], ns: [] });
    }
    assert.deepEqual(never.asked, []);
  });

  it('leaves instances registered by name out when others have addresses', async () => {
    f = await fixture({}, [svc('w1'), svc('h1', { Host: 'web.example' })]);
    expectReply(await f.query(W, 'A'), { answer: [`${W}. 30 IN A 10.0.0.1`] });
    expectReply(await f.query(W, 'CNAME'), { rcode: 'NOERROR', answer: [] });
  });

  it('answers <uuid>.<zone> with that instance, keeping the client spelling', async () => {
    f = await fixture({}, [svc('w1'), svc('w2', { Host: '10.0.0.2' })]);
    expectReply(await f.query('W2.SkyDNS.local', 'A'), { answer: ['W2.SkyDNS.local. 30 IN A 10.0.0.2'] });
  });

  it('prefers the requested region and falls back to the others', async () => {
    f = await fixture({}, [svc('w1'), svc('w2', { Host: '10.0.0.2', Region: 'west' }), svc('w3', { Host: '2001:db8::3', Region: 'west' })]);
    expectReply(await f.query(`west.any.${W}`, 'A'), { answer: [`west.any.${W}. 30 IN A 10.0.0.2`] });
    expectReply(await f.query(`east.any.${W}`, 'A'), { answer: [`east.any.${W}. 30 IN A 10.0.0.1`] });
    // east has no IPv6 instance: the other regions answer
    expectReply(await f.query(`east.any.${W}`, 'AAAA'), { answer: [`east.any.${W}. 30 IN AAAA 2001:db8::3`] });
    expectReply(await f.query(`north.any.${W}`, 'A'), { anyOrder: true, answer: [`north.any.${W}. 30 IN A 10.0.0.1`, `north.any.${W}. 30 IN A 10.0.0.2`] });
  });

  it('answers NXDOMAIN for names that match nothing, NODATA for RFC 2782 names', async () => {
    f = await fixture({}, [svc('w1')]);
    expectReply(await f.query('db.production.skydns.local', 'A'), { rcode: 'NXDOMAIN', aa: true, ns: [] });
    expectReply(await f.query('a.b.c.d.e.f.g.skydns.local', 'A'), { rcode: 'NXDOMAIN' });
    expectReply(await f.query('_web._tcp.production.skydns.local', 'A'), { rcode: 'NOERROR', answer: [] });
  });

  it('answers NODATA at every name that exists without addresses, NXDOMAIN only where nothing lies below', async () => {
    f = await fixture({}, [svc('w1'), svc('d1', { Name: 'db', Environment: 'Staging', Host: '10.0.0.9' })]);
    // [name, rcode of A, AAAA and CNAME]: RFC 1034 §4.3.2, RFC 8020 §2
    const rows: [string, string][] = [
      ['_tcp.production.skydns.local', 'NOERROR'], // above _web._tcp.production
      ['_UDP.staging.skydns.local', 'NOERROR'],
      ['_tcp.any.skydns.local', 'NOERROR'],
      ['_web._tcp.production.skydns.local', 'NOERROR'],
      ['_tcp.nothing.skydns.local', 'NXDOMAIN'],
      ['x._tcp.production.skydns.local', 'NXDOMAIN'],
      ['_._tcp.production.skydns.local', 'NXDOMAIN'],
    ];
    for (const [name, rcode] of rows) {
      for (const type of ['A', 'AAAA', 'CNAME']) expectReply(await f.query(name, type), { rcode, aa: true, answer: [], ns: [] });
    }
  });

  it('answers the apex NODATA when the registry is empty (the apex always exists)', async () => {
    f = await fixture({}, []);
    for (const type of ['A', 'AAAA', 'CNAME']) expectReply(await f.query('skydns.local', type), { rcode: 'NOERROR', aa: true, answer: [], ns: [] });
    await f.registry.put(svc('w1'));
    expectReply(await f.query('SKYDNS.local', 'A'), { answer: ['SKYDNS.local. 30 IN A 10.0.0.1'] });
  });

  it('passes other types, classes and names to the next plugin', async () => {
    f = await fixture({}, [svc('w1')]);
    const next = downstream(async () => ({ msg: { rcode: Rcode.NOERROR } }));
    await f.query(W, 'SRV', {}, next);
    await f.query(W, 'TXT', {}, next);
    await f.query(W, 'A', { class: 'CH' }, next);
    await f.query('example.com', 'A', {}, next);
    assert.deepEqual(next.asked, [`SRV ${W}`, `TXT ${W}`, `A ${W}`, 'A example.com']);
  });

  it('with fallthrough, passes names it has no answer for to the next plugin', async () => {
    f = await fixture({ fallthrough: true }, [svc('w1'), svc('h1', { Host: 'x.example', Name: 'db' }), svc('h2', { Host: 'y.example', Name: 'db' })]);
    const next = downstream(async () => ({ msg: { rcode: Rcode.NXDOMAIN } }));
    expectReply(await f.query(W, 'A', {}, next), { answer: [`${W}. 30 IN A 10.0.0.1`] });
    await f.query('nothing.skydns.local', 'A', {}, next);
    await f.query('db.production.skydns.local', 'A', {}, next);
    assert.deepEqual(next.asked, ['A nothing.skydns.local', 'A db.production.skydns.local']);
  });

  it('follows the registry: expiry at once, changes at once, TTLs from the remaining lifetime', async () => {
    f = await fixture({ maxTtl: 20 }, [svc('w1', { TTL: 10 }), svc('w2', { Host: '10.0.0.2', TTL: 60 })]);
    expectReply(await f.query(W, 'A'), { anyOrder: true, answer: [`${W}. 10 IN A 10.0.0.1`, `${W}. 10 IN A 10.0.0.2`] });
    f.clock.advance(4000);
    expectReply(await f.query(W, 'A'), { anyOrder: true, answer: [`${W}. 6 IN A 10.0.0.1`, `${W}. 6 IN A 10.0.0.2`] });
    f.clock.advance(6000);
    const r = await f.query(W, 'A');
    expectReply(r, { answer: [`${W}. 20 IN A 10.0.0.2`] });
    assert.equal((r.reply as { depends?: { on: unknown } }).depends?.on, answerGeneration(f.registry));
    await f.registry.put(svc('w5', { Host: '10.0.0.5' }));
    expectReply(await f.query(W, 'A'), { anyOrder: true, answer: [`${W}. 20 IN A 10.0.0.2`, `${W}. 20 IN A 10.0.0.5`] });
    await f.registry.remove('w2');
    expectReply(await f.query(W, 'A'), { answer: [`${W}. 20 IN A 10.0.0.5`] });
  });
});
