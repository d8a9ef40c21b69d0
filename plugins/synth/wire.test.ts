/**
 * synth's pre-encoded A/AAAA replies against the message path they replace:
 * for each query, the bytes the client gets must be the bytes the server
 * would have written for the message synth used to build (same records in the
 * same rotated order, the same one TTL), with and without EDNS, for a 0x20
 * spelling of the name, RD/CD either way.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { Rcode, type RR } from '../../src/dns/types.js';
import { silentLogger } from '../../src/logger.js';
import type { Plugin, Reply } from '../../src/plugin.js';
import { EmbeddedRegistry } from '../../src/registry/embedded.js';
import type { Service } from '../../src/registry/types.js';
import { makeRequest, readReply, setupPlugin, type TestQuery } from '../../src/testing/harness.js';
import synth from './index.js';
import { rrsetTtl, type SynthHandler } from './synth.js';

const svc = (uuid: string, over: Partial<Service> = {}): Service =>
  ({ UUID: uuid, Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 8080, TTL: 30, ...over });

const W = 'web.production.skydns.local';
const MIN = 1;
const MAX = 3600;

interface Fixture {
  clock: ManualClock;
  registry: EmbeddedRegistry;
  plugin: Plugin;
  close(): Promise<void>;
}

async function fixture(services: Service[], opts: Record<string, unknown> = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-synth-wire-'));
  const clock = new ManualClock();
  const registry = new EmbeddedRegistry({ path: dir, clock, logger: silentLogger, fsync: false });
  await registry.start();
  for (const s of services) await registry.put(s);
  const plugin = await setupPlugin(synth, { minTtl: MIN, maxTtl: MAX, ...opts }, { clock, registryInstance: registry });
  return {
    clock,
    registry,
    plugin,
    async close() {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const refuse = () => Promise.resolve({ msg: { rcode: Rcode.REFUSED } } as Reply);

/**
 * The message synth built before it kept wire: every address of the family
 * (sorted), rotated to start at `start`, with rrsetTtl over every instance.
 */
function oldMessage(f: Fixture, qname: string, type: 'A' | 'AAAA', start: number): Reply {
  const live = f.registry.query({ name: 'web', environment: 'production' });
  const family = type === 'A' ? 4 : 6;
  const fam = live.filter((s) => (family === 4 ? /^\d+\.\d+\.\d+\.\d+$/.test(s.Host) : s.Host.includes(':')));
  const addrs = [...new Set(fam.map((s) => (family === 6 ? s.Host.toLowerCase() : s.Host)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ttl = rrsetTtl(fam, f.clock.now(), MIN, MAX);
  const answers: RR[] = addrs.map((_, i) => ({ name: qname, type, ttl, data: addrs[(start + i) % addrs.length]! }));
  return { msg: { rcode: Rcode.NOERROR, flags: { aa: true }, answers } };
}

async function compare(f: Fixture, q: TestQuery, start: number): Promise<void> {
  const req = makeRequest(q, f.clock);
  const reply = await f.plugin.serveDNS!(req, refuse);
  assert.ok('wire' in reply, `${q.type} ${q.name}: a wire reply`);
  const got = readReply(req, reply).wire!;
  const want = readReply(req, oldMessage(f, q.name, q.type as 'A' | 'AAAA', start)).wire!;
  assert.equal(got.toString('hex'), want.toString('hex'), `${q.type} ${q.name} rotation ${start} edns ${JSON.stringify(q.edns)}`);
}

describe('synth wire replies', () => {
  let f: Fixture;
  afterEach(() => f.close());

  it('are byte for byte the encoded message, for every rotation, A and AAAA, 0x20, EDNS or not', async () => {
    f = await fixture([
      svc('w1'), svc('w2', { Host: '10.0.0.2', TTL: 20 }), svc('w3', { Host: '10.0.0.3' }), svc('w4', { Host: '192.168.7.4', NoExpire: true, TTL: 45 }),
      svc('v1', { Host: '2001:DB8::4' }), svc('v2', { Host: '2001:db8::1:5', TTL: 300 }),
      svc('h1', { Host: 'web.example' }),
    ]);
    const cases: Omit<TestQuery, 'type'>[] = [
      { name: W },
      { name: 'WeB.PRODuction.SkyDns.local', id: 9, rd: false, cd: true },
      { name: 'web.production.skydns.LOCAL', edns: { udpSize: 1232 } },
      { name: 'wEb.production.skydns.local', edns: { udpSize: 4096, do: true }, rd: true, cd: true },
    ];
    for (const type of ['A', 'AAAA'] as const) {
      const n = type === 'A' ? 4 : 2;
      let turn = 0;
      for (let round = 0; round < 2; round++) {
        for (const c of cases) await compare(f, { ...c, type }, turn++ % n);
      }
      f.clock.advance(7_500); // TTLs count down; the reply follows
      for (const c of cases) await compare(f, { ...c, type }, turn++ % n);
    }
  });

  it('take the TTL from the earliest expiry, and a fixed TTL when that is smaller', async () => {
    f = await fixture([svc('w1', { TTL: 600 }), svc('w2', { Host: '10.0.0.2', NoExpire: true, TTL: 100 })]);
    await compare(f, { name: W, type: 'A' }, 0); // 100, from the NoExpire instance
    f.clock.advance(550_500); // w1 has 49.5 s left: 50
    await compare(f, { name: W, type: 'A' }, 1);
    const r = readReply(makeRequest({ name: W, type: 'A' }, f.clock), await f.plugin.serveDNS!(makeRequest({ name: W, type: 'A' }, f.clock), refuse));
    assert.equal(r.msg!.answers![0]!.ttl, 50);
  });

  it('fall back to a message the server truncates when the answer does not fit the client', async () => {
    const many = Array.from({ length: 40 }, (_, i) => svc(`w${i}`, { Host: `10.0.1.${i + 1}` }));
    f = await fixture(many);
    // 40 × 16 bytes of records: over 512 without EDNS, under 1232 with it.
    const small = makeRequest({ name: W, type: 'A' }, f.clock);
    const r1 = await f.plugin.serveDNS!(small, refuse);
    assert.ok('msg' in r1, 'a message for the server to truncate');
    const out = readReply(small, r1);
    assert.equal(out.msg!.flags.tc, true);
    assert.ok(out.wire!.length <= 512);
    // The rotation went on: the next query starts one further along.
    const big = makeRequest({ name: W, type: 'A', edns: { udpSize: 1232 } }, f.clock);
    const r2 = await f.plugin.serveDNS!(big, refuse);
    assert.ok('wire' in r2);
    const answers = readReply(big, r2).msg!.answers!;
    assert.equal(answers.length, 40);
    assert.equal(answers[0]!.data, '10.0.1.10', 'second query starts at the second address (sorted as strings)');
    await compare(f, { name: W, type: 'A', edns: { udpSize: 1232 } }, 2);
  });

  it('take memo "auto" by default, and refuse other words', async () => {
    f = await fixture([svc('w1')]);
    await compare(f, { name: W, type: 'A' }, 0);
    assert.equal((f.plugin as SynthHandler).memo.size, 1);
    await assert.rejects(setupPlugin(synth, { memo: 'lots' }, { clock: f.clock, registryInstance: f.registry }), { code: 'SKY_ERR_CONFIG_INVALID' });
  });

  it('keep memo entries within the memo option and still answer with 0', async () => {
    f = await fixture([svc('w1'), svc('a1', { Name: 'api', Host: '10.0.0.9' })], { memo: 1 });
    const h = f.plugin as SynthHandler;
    await compare(f, { name: W, type: 'A' }, 0);
    const api = await f.plugin.serveDNS!(makeRequest({ name: 'api.production.skydns.local', type: 'A' }, f.clock), refuse);
    assert.ok('wire' in api);
    assert.equal(h.memo.size, 1);
    await f.close();
    f = await fixture([svc('w1'), svc('w2', { Host: '10.0.0.2' })], { memo: 0 });
    await compare(f, { name: W, type: 'A' }, 0);
    await compare(f, { name: W, type: 'A' }, 0); // nothing kept, so rotation starts afresh
    assert.equal((f.plugin as SynthHandler).memo.size, 0);
  });
});
