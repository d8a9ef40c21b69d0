/**
 * Discovery as a user meets it: a whole server (api + skydns + synth, and a
 * sentinel plugin last in the chain standing in for forward), services
 * registered over HTTP, answers read with real DNS clients over UDP and TCP:
 * ours, and dig when it is installed (CI installs dnsutils and sets CI=true).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import JSON5 from 'json5';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { startServer, type TestServer } from '../src/testing/server.js';
import type { DnsResult } from '../src/testing/harness.js';
import { haveDig } from './dig.js';

const run = promisify(execFile);
const ZONE = 'skydns.local';
const W = `web.production.${ZONE}`;

/** Last plugin in the chain: records every name that reaches it and refuses it. */
const SENTINEL = `
export default {
  name: 'sentinel',
  schema: { type: 'object' },
  setup() {
    return { serveDNS(req) { (globalThis.__discoverySentinel ??= []).push(req.name); return Promise.resolve({ msg: { rcode: 5 } }); } };
  },
};
`;
const reached = (): string[] => ((globalThis as { __discoverySentinel?: string[] }).__discoverySentinel ??= []);

const body = (over: Record<string, unknown> = {}) => ({ Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 8080, TTL: 30, ...over });

const lines = (a: DnsResult, section: 'answers' | 'authorities' | 'additionals' = 'answers') => [...{ answers: a.answer, authorities: a.ns, additionals: a.extra }[section]];

async function dig(srv: TestServer, ...args: string[]): Promise<string> {
  const { stdout } = await run('dig', [`@${srv.host}`, '-p', String(srv.port), '+time=2', '+tries=1', ...args]);
  return stdout;
}

describe('discovery over DNS', () => {
  const clock = new ManualClock();
  let dir: string;
  let srv: TestServer;
  let api: string;

  async function put(uuid: string, over: Record<string, unknown> = {}): Promise<void> {
    const res = await fetch(`${api}/skydns/services/${uuid}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(over)) });
    assert.equal(res.status, 201, `PUT ${uuid}: ${await res.text()}`);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skydns-discovery-'));
    await writeFile(join(dir, 'sentinel.mjs'), SENTINEL);
    srv = await startServer(
      JSON.stringify({
        registry: { fsync: false },
        chain: [
          { api: { listen: '127.0.0.1:0' } },
          { skydns: { zone: ZONE, ptrZones: ['10.in-addr.arpa'] } },
          { synth: { zone: ZONE } },
          './sentinel.mjs',
        ],
      }),
      { clock, baseDir: dir },
    );
    const link = srv.app.plugins.find((l) => l.name === 'api')!;
    api = (link.plugin as unknown as { url(): string }).url();
    await put('web1');
    await put('web2', { Host: '10.0.0.2', Region: 'west' });
    await put('web3', { Host: 'web3.example', Port: 8081, TTL: 20 });
  });

  after(async () => {
    await srv.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers SRV with priorities, weights, targets and their addresses over UDP and TCP', async () => {
    for (const ask of [srv.udp, srv.tcp]) {
      const a = await ask(`east.any.${W}`, 'SRV');
      assert.equal(a.rcode, 'NOERROR');
      assert.equal(a.msg!.flags.aa, true);
      assert.deepEqual(lines(a), [
        `east.any.${W}. 20 IN SRV 10 50 8080 web1.${ZONE}.`,
        `east.any.${W}. 20 IN SRV 10 50 8081 web3.example.`,
        `east.any.${W}. 20 IN SRV 20 100 8080 web2.${ZONE}.`,
      ]);
      assert.deepEqual(lines(a, 'additionals'), [`web1.${ZONE}. 30 IN A 10.0.0.1`, `web2.${ZONE}. 30 IN A 10.0.0.2`]);
    }
  });

  it('answers A for service names through synth, rotating, and for <uuid>.<zone>', async () => {
    const first = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const a = await srv.udp(W, 'A');
      assert.deepEqual(lines(a).sort(), [`${W}. 30 IN A 10.0.0.1`, `${W}. 30 IN A 10.0.0.2`]);
      first.add(lines(a)[0]!);
    }
    assert.equal(first.size, 2, 'consecutive answers start at different addresses');
    assert.deepEqual(lines(await srv.tcp(`WEB2.${ZONE}`, 'A')), [`WEB2.${ZONE}. 30 IN A 10.0.0.2`]);
  });

  it('answers the apex, NXDOMAIN and NODATA with the SOA, and PTR', async () => {
    const soa = await srv.udp(ZONE, 'SOA');
    assert.match(lines(soa)[0]!, /^skydns\.local\. 300 IN SOA ns\.dns\.skydns\.local\. hostmaster\.skydns\.local\. \d+ 7200 1800 86400 30$/);
    const nx = await srv.udp(`db.production.${ZONE}`, 'A');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.match(lines(nx, 'authorities')[0]!, /^skydns\.local\. 30 IN SOA /);
    const nodata = await srv.tcp(W, 'TXT');
    assert.equal(nodata.rcode, 'NOERROR');
    assert.deepEqual(lines(nodata), []);
    assert.equal(lines(nodata, 'authorities').length, 1);
    const noAAAA = await srv.udp(W, 'AAAA');
    assert.equal(noAAAA.rcode, 'NOERROR');
    assert.deepEqual(lines(noAAAA), []);
    assert.match(lines(noAAAA, 'authorities')[0]!, /IN SOA/, 'synth found no address; skydns added the SOA');
    assert.deepEqual(lines(await srv.udp('2.0.0.10.in-addr.arpa', 'PTR')), [`2.0.0.10.in-addr.arpa. 30 IN PTR web2.10-0-0-2.west.1-0-1.web.production.${ZONE}.`]);
  });

  it('changes answers the moment the registry changes: PUT, DELETE, expiry', async () => {
    await put('web4', { Host: '10.0.0.4', Name: 'api' });
    assert.deepEqual(lines(await srv.udp(`api.production.${ZONE}`, 'A')), [`api.production.${ZONE}. 30 IN A 10.0.0.4`]);
    const del = await fetch(`${api}/skydns/services/web4`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal((await srv.udp(`api.production.${ZONE}`, 'A')).rcode, 'NXDOMAIN');
    clock.advance(20_000); // web3 (TTL 20) expires
    assert.deepEqual(lines(await srv.tcp(W, 'SRV')), [`${W}. 10 IN SRV 10 50 8080 web1.${ZONE}.`, `${W}. 10 IN SRV 10 50 8080 web2.${ZONE}.`]);
    await put('web3', { Host: 'web3.example', Port: 8081, TTL: 20 });
  });

  it('truncates a 60-instance answer over UDP and gives all of it over TCP', async () => {
    await Promise.all(Array.from({ length: 60 }, (_, i) => put(`big${i}`, { Name: 'big', Host: `10.1.${i >> 8}.${i & 255}` })));
    const name = `big.production.${ZONE}`;
    const udp = await srv.udp(name, 'SRV');
    assert.equal(udp.msg!.flags.tc, true);
    assert.ok((udp.msg!.answers ?? []).length < 60);
    const edns = await srv.udp(name, 'SRV', { edns: { udpSize: 1232 } });
    assert.equal(edns.msg!.flags.tc, true);
    assert.ok(edns.wire!.length <= 1232);
    const tcp = await srv.tcp(name, 'SRV');
    assert.equal(tcp.msg!.flags.tc, false);
    assert.equal(tcp.msg!.answers!.length, 60);
    assert.equal(tcp.msg!.additionals!.length, 60);
    assert.ok(lines(tcp).every((l) => / IN SRV 10 1 8080 big\d+\.skydns\.local\.$/.test(l)));
  });

  it('answers dig over UDP and TCP', async (t) => {
    if (!(await haveDig())) {
      if (process.env.CI === 'true') assert.fail('dig is not installed (CI installs dnsutils)');
      console.error('\n*** SKIPPED: dig is not installed; install dnsutils to run the dig checks ***\n');
      t.skip('dig not installed');
      return;
    }
    const srvOut = await dig(srv, '+noall', '+answer', '+additional', 'SRV', `east.any.${W}`);
    assert.match(srvOut, new RegExp(`east\\.any\\.web\\.production\\.skydns\\.local\\.\\s+\\d+\\s+IN\\s+SRV\\s+10 50 8080 web1\\.skydns\\.local\\.`));
    assert.match(srvOut, /web1\.skydns\.local\.\s+\d+\s+IN\s+A\s+10\.0\.0\.1/);
    const a = (await dig(srv, '+short', 'A', W)).trim().split('\n').sort();
    assert.deepEqual(a, ['10.0.0.1', '10.0.0.2']);
    const nx = await dig(srv, 'A', `nothing.${ZONE}`);
    assert.match(nx, /status: NXDOMAIN/);
    assert.match(nx, /flags: qr aa rd;/);
    const truncated = await dig(srv, '+ignore', '+noedns', 'SRV', `big.production.${ZONE}`);
    assert.match(truncated, /flags: qr aa tc rd;/);
    const full = await dig(srv, '+tcp', '+noall', '+answer', 'SRV', `big.production.${ZONE}`);
    assert.equal(full.trim().split('\n').filter((l) => /\sIN\s+SRV\s/.test(l)).length, 60);
    // dig's default: UDP first, then TCP on TC=1
    const retried = await dig(srv, '+noall', '+answer', 'SRV', `big.production.${ZONE}`);
    assert.equal(retried.trim().split('\n').filter((l) => /\sIN\s+SRV\s/.test(l)).length, 60);
  });

  it('never hands a name in the zone to the plugins after it', async () => {
    const out = await srv.udp('example.org', 'A');
    assert.equal(out.rcode, 'REFUSED');
    const inZone = reached().filter((n) => n === ZONE || n.endsWith(`.${ZONE}`) || n.endsWith('10.in-addr.arpa'));
    assert.deepEqual(inZone, []);
    assert.ok(reached().includes('example.org'));
  });
});

/** The ```json5 blocks of a README's Examples section. */
function readmeExamples(plugin: string): { heads: string[]; examples: string[] } {
  const text = readFileSync(new URL(`../../plugins/${plugin}/README.md`, import.meta.url), 'utf8');
  const start = text.indexOf('\n## Examples');
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return {
    heads: text.split('\n').filter((l) => /^#{1,2} /.test(l)),
    examples: [...section.matchAll(/```json5\n([\s\S]*?)```/g)].map((m) => m[1]!),
  };
}

type ChainEntry = string | Record<string, Record<string, unknown>>;

/** Options of the first chain entry named `name`. */
function optionsOf(chain: ChainEntry[], name: string): Record<string, unknown> | undefined {
  for (const e of chain) {
    if (e === name) return {};
    if (typeof e === 'object' && e[name]) return e[name];
  }
  return undefined;
}

for (const plugin of ['skydns', 'synth']) {
  describe(`${plugin} README`, () => {
    const { heads, examples } = readmeExamples(plugin);

    it('has the man-page sections in order', () => {
      assert.deepEqual(heads.slice(0, 5), [`# ${plugin}`, '## Name', '## Description', '## Syntax', '## Examples']);
      assert.ok(examples.length >= 2);
    });

    it('every example boots and answers its zone', async () => {
      for (const ex of examples) {
        const cfg = JSON5.parse(ex) as { chain: ChainEntry[] };
        for (const e of cfg.chain) if (typeof e === 'object' && e.api) e.api.listen = '127.0.0.1:0';
        const srv = await startServer(JSON.stringify(cfg));
        try {
          const zone = String(optionsOf(cfg.chain, 'skydns')?.zone ?? optionsOf(cfg.chain, 'synth')?.zone ?? ZONE);
          const registry = await srv.app.registry();
          await registry.put({ UUID: 'r1', Name: 'web', Version: '1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 80, TTL: 30 });
          const soa = await srv.udp(zone, 'SOA');
          assert.equal(soa.msg!.flags.aa, true, ex);
          assert.equal(lines(soa)[0]?.split(' ')[3], 'SOA', ex);
          const srvRR = await srv.tcp(`web.production.${zone}`, 'SRV');
          assert.equal(srvRR.msg!.answers?.length, 1, ex);
          const a = await srv.udp(`web.production.${zone}`, 'A');
          const synth = optionsOf(cfg.chain, 'synth') !== undefined;
          assert.deepEqual(lines(a).map((l) => l.split(' ').pop()), synth ? ['10.0.0.1'] : [], ex);
          assert.equal(a.rcode, 'NOERROR', ex);
          assert.equal((await srv.udp(`nothing.${zone}`, 'A')).rcode, 'NXDOMAIN', ex);
        } finally {
          await srv.stop();
        }
      }
    });
  });
}
