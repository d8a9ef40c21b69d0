/**
 * unbound (a validating resolver) in front of a signed SkyDNS, with a
 * trust anchor for the zone (the DS `skydns dnssec ds` prints) and a
 * stub-zone to SkyDNS: clients behind it get AD=1 for service names and for
 * negative answers; a key that is not the anchored one, or signatures that
 * have expired, make unbound answer SERVFAIL.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { queryUdp } from '../src/testing/client.js';
import { startServer, type TestServer } from '../src/testing/server.js';
import { dsRecords } from '../plugins/dnssec/ds-command.js';
import { installed, keygen, startUnbound, type Unbound } from './dnssec-tools.js';

const ZONE = 'skydns.local';
const tools = installed('dnssec-keygen') && installed('unbound');
if (!tools) console.error('\n*** SKIPPED: dnssec-keygen or unbound not installed; apt-get install bind9-utils unbound ***\n');
if (!tools && process.env.CI === 'true') throw new Error('dnssec-keygen or unbound not installed (CI installs bind9-utils and unbound)');

let servers = 0;
const skyfile = (keys: string[]): string =>
  `{ registry: { backend: "embedded", path: "./data-${++servers}" }, chain: [{ dnssec: { keys: ${JSON.stringify(keys)} } }, { skydns: { zone: "${ZONE}" } }, { synth: { zone: "${ZONE}" } }] }`;

async function signedServer(dir: string, keys: string[], stops: (() => Promise<void>)[], clock?: ManualClock): Promise<TestServer> {
  const srv = await startServer(skyfile(keys), { baseDir: dir, ...(clock ? { clock } : {}) });
  stops.push(() => srv.stop());
  const reg = await srv.app.registry();
  await reg.put({ UUID: 'r1', Name: 'web', Version: '1.0', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 80, TTL: 3600 });
  return srv;
}

/** The DS of the keys in `keys` (what an operator publishes, or gives unbound as its trust anchor). */
async function dsOf(dir: string, keys: string[]): Promise<string> {
  const file = join(dir, `Skyfile-${keys[0]}`);
  await writeFile(file, skyfile(keys));
  return (await dsRecords(file))[0]!;
}

const ask = (u: Unbound, name: string, type: string) => queryUdp('127.0.0.1', u.port, name, type, { edns: { udpSize: 1232, do: true }, timeoutMs: 5000 });

describe('unbound validating SkyDNS', { skip: !tools && 'dnssec-keygen/unbound not installed' }, () => {
  let dir: string;
  const stops: (() => Promise<void>)[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skydns-unbound-'));
  });
  after(async () => {
    for (const s of stops.reverse()) await s();
    await rm(dir, { recursive: true, force: true });
  });

  it('AD=1 for service names, NXDOMAIN (as compact denial) and NODATA', async () => {
    const keys = [await keygen(dir, ZONE, 'ECDSAP256SHA256', true), await keygen(dir, ZONE, 'ECDSAP256SHA256')];
    const srv = await signedServer(dir, keys, stops);
    const u = await startUnbound(dir, ZONE, await dsOf(dir, keys), srv.port);
    stops.push(() => u.stop());
    const srvAns = await ask(u, `web.production.${ZONE}`, 'SRV');
    assert.equal(srvAns.rcode, 0, u.log());
    assert.equal(srvAns.flags.ad, true, u.log());
    assert.equal(srvAns.answers!.filter((r) => r.type === 'SRV').length, 1);
    const a = await ask(u, `web.production.${ZONE}`, 'A');
    assert.deepEqual([a.rcode, a.flags.ad, a.answers!.find((r) => r.type === 'A')?.data], [0, true, '10.0.0.1']);
    // unbound 1.17 does not know NXNAME: the compact-denial NXDOMAIN reaches clients as a validated NODATA.
    const nx = await ask(u, `nothing.${ZONE}`, 'A');
    assert.deepEqual([nx.flags.ad, nx.answers!.length], [true, 0], u.log());
    assert.ok([0, 3].includes(nx.rcode));
    const nodata = await ask(u, `web.production.${ZONE}`, 'TXT');
    assert.deepEqual([nodata.rcode, nodata.flags.ad, nodata.answers!.length], [0, true, 0], u.log());
    const apex = await ask(u, ZONE, 'SOA');
    assert.deepEqual([apex.rcode, apex.flags.ad], [0, true]);
    for (const name of [`*.production.${ZONE}`, `any.production.${ZONE}`, `_tcp.production.${ZONE}`]) {
      const r = await ask(u, name, 'SRV');
      assert.deepEqual([r.rcode, r.flags.ad], [0, true], `${name} ${u.log()}`);
    }
  });

  it('a zone served with a key other than the anchored one: SERVFAIL', async () => {
    const anchored = [await keygen(dir, ZONE, 'ECDSAP256SHA256', true)];
    const served = [await keygen(dir, ZONE, 'ECDSAP256SHA256', true)];
    const srv = await signedServer(dir, served, stops);
    const u = await startUnbound(dir, ZONE, await dsOf(dir, anchored), srv.port);
    stops.push(() => u.stop());
    const r = await ask(u, `web.production.${ZONE}`, 'SRV');
    assert.equal(r.rcode, 2, u.log());
    assert.equal(r.flags.ad, false);
  });

  it('signatures made by a clock 10 days behind (so already expired): SERVFAIL', async () => {
    const keys = [await keygen(dir, ZONE, 'ED25519', true)];
    const clock = new ManualClock(Date.now() - 10 * 24 * 3600_000);
    const srv = await signedServer(dir, keys, stops, clock);
    const u = await startUnbound(dir, ZONE, await dsOf(dir, keys), srv.port);
    stops.push(() => u.stop());
    const r = await ask(u, `web.production.${ZONE}`, 'SRV');
    assert.equal(r.rcode, 2, u.log());
    assert.match(u.log(), /expired/i);
  });
});
