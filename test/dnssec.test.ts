/**
 * The dnssec plugin in a whole server, checked by a real validator: delv
 * (BIND 9) with the zone's own key as trust anchor. Keys are made by
 * dnssec-keygen in each run. Also: DO=0 replies byte for byte as without the
 * plugin, truncation with signatures, and `cache` before or after `dnssec`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { buildQuery, sendUdp } from '../src/testing/client.js';
import { startServer, type TestServer } from '../src/testing/server.js';
import { dsRecords } from '../plugins/dnssec/ds-command.js';
import { delv, delvAnchor, installed, keygen } from './dnssec-tools.js';

const ZONE = 'skydns.local';
const VALID = /; (negative response, )?fully validated/;
const tools = installed('dnssec-keygen') && installed('delv');
if (!tools) console.error('\n*** SKIPPED: dnssec-keygen or delv not installed; apt-get install bind9-utils bind9-dnsutils ***\n');
if (!tools && process.env.CI === 'true') throw new Error('dnssec-keygen or delv not installed (CI installs bind9-utils and bind9-dnsutils)');

function skyfile(chain: string[]): string {
  return `{ registry: { backend: "embedded", path: "./data" }, chain: [${chain.join(', ')}] }`;
}
const ZONE_PLUGINS = [`{ skydns: { zone: "${ZONE}" } }`, `{ synth: { zone: "${ZONE}" } }`];

async function fill(srv: TestServer, extra = 0): Promise<void> {
  const reg = await srv.app.registry();
  await reg.put({ UUID: 'r1', Name: 'web', Version: '1.0', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 80, TTL: 300 });
  await reg.put({ UUID: 'r2', Name: 'web', Version: '1.0', Environment: 'production', Region: 'west', Host: 'web2.example.org', Port: 8080, TTL: 300 });
  for (let i = 0; i < extra; i++) {
    await reg.put({ UUID: `big${i}`, Name: 'big', Version: '1', Environment: 'production', Region: 'east', Host: `10.1.0.${i + 1}`, Port: 9000 + i, TTL: 300 });
  }
}

for (const [label, algs] of [
  ['ECDSAP256SHA256 KSK + ZSK', [['ECDSAP256SHA256', true], ['ECDSAP256SHA256', false]]],
  ['ED25519 CSK', [['ED25519', true]]],
  ['RSASHA256 CSK', [['RSASHA256', true]]],
] as const) {
  describe(`dnssec, ${label}: delv validates`, { skip: !tools && 'dnssec-keygen/delv not installed' }, () => {
    let dir: string;
    let srv: TestServer;
    let anchor: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'skydns-dnssec-'));
      const keys: string[] = [];
      for (const [alg, ksk] of algs) keys.push(await keygen(dir, ZONE, alg, ksk));
      anchor = await delvAnchor(dir, ZONE, keys[0]!);
      srv = await startServer(skyfile([`{ dnssec: { keys: ${JSON.stringify(keys)} } }`, ...ZONE_PLUGINS]), { baseDir: dir });
      await fill(srv, 40);
    });
    after(async () => {
      await srv?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    const cases: [string, string, RegExp?][] = [
      [`web.production.${ZONE}`, 'SRV', /IN\s+SRV\s+10 \d+ 80 r1\.skydns\.local\./],
      [`web.production.${ZONE}`, 'A', /IN\s+A\s+10\.0\.0\.1/],
      [`WeB.PrOdUcTiOn.${ZONE}`, 'SRV', /WeB\.PrOdUcTiOn\.skydns\.local\.\s+\d+\s+IN\s+SRV/],
      [`r1.${ZONE}`, 'A', /IN\s+A\s+10\.0\.0\.1/],
      [`nothing.${ZONE}`, 'A', /NSEC\s+\\000\.nothing\.skydns\.local\. RRSIG NSEC TYPE128/],
      [`NoThInG.${ZONE}`, 'A', /NoThInG\.skydns\.local\.\s+\d+\s+IN\s+\\-A/],
      [`web.production.${ZONE}`, 'TXT', /NXRRSET/],
      [`web.production.${ZONE}`, 'MX', /NXRRSET/],
      // An empty non-terminal: NXDOMAIN on this branch (compact denial turns it into
      // NOERROR + NXNAME), NODATA once the zone answers ENTs by RFC 8020; both validate.
      [`_tcp.production.${ZONE}`, 'SRV'],
      [`*.production.${ZONE}`, 'SRV', /\*\.production\.skydns\.local\.\s+\d+\s+IN\s+SRV/],
      [`any.production.${ZONE}`, 'SRV', /IN\s+SRV/],
      [`*.*.${ZONE}`, 'TXT'],
      [ZONE, 'SOA', /IN\s+SOA/],
      [ZONE, 'NS', /IN\s+NS/],
      [ZONE, 'DNSKEY', /IN\s+DNSKEY/],
      [ZONE, 'AAAA'],
    ];
    for (const [name, type, expect] of cases) {
      it(`${name} ${type}: fully validated`, async () => {
        const out = await delv(srv.port, anchor, ZONE, name, type);
        assert.match(out, VALID, out);
        if (expect) assert.match(out, expect, out);
      });
    }

    it('a truncated answer (TC over UDP) is retried over TCP and validates', async () => {
      const udp = await srv.udp(`big.production.${ZONE}`, 'SRV', { edns: { udpSize: 1232, do: true } });
      assert.equal(udp.msg!.flags.tc, true);
      const out = await delv(srv.port, anchor, ZONE, `big.production.${ZONE}`, 'SRV');
      assert.match(out, VALID, out);
      assert.equal(out.split('\n').filter((l) => /\sIN\s+SRV\s/.test(l)).length, 40, out);
    });

    it('`skydns dnssec ds` gives the DS that validates the zone as a static-ds anchor', async () => {
      const file = join(dir, 'Skyfile');
      await writeFile(file, skyfile([`{ dnssec: { keys: ${JSON.stringify((srv.config.chain[0]!.options as { keys: string[] }).keys)} } }`, ...ZONE_PLUGINS]));
      const ds = await dsRecords(file);
      assert.equal(ds.length, 1);
      const [, , , tag, alg, digestType, digest] = ds[0]!.split(' ');
      const dsAnchor = join(dir, 'ds-anchor.conf');
      await writeFile(dsAnchor, `trust-anchors { "${ZONE}." static-ds ${tag} ${alg} ${digestType} "${digest}"; };\n`);
      const out = await delv(srv.port, dsAnchor, ZONE, `web.production.${ZONE}`, 'SRV');
      assert.match(out, VALID, out);
    });
  });
}

describe('dnssec beside the other plugins', { skip: !tools && 'dnssec-keygen/delv not installed' }, () => {
  let dir: string;
  let key: string;
  let anchor: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skydns-dnssec-'));
    key = await keygen(dir, ZONE, 'ECDSAP256SHA256', true);
    anchor = await delvAnchor(dir, ZONE, key);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('DO=0 replies are byte for byte the replies without the plugin', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    const plain = await startServer(skyfile(ZONE_PLUGINS), { clock });
    const signed = await startServer(skyfile([`{ dnssec: { keys: ["${join(dir, key)}"] } }`, ...ZONE_PLUGINS]), { clock });
    try {
      await fill(plain);
      await fill(signed);
      for (const [name, type] of [[`web.production.${ZONE}`, 'SRV'], [`web.production.${ZONE}`, 'A'], [`nothing.${ZONE}`, 'A'], [`web.production.${ZONE}`, 'TXT'], [ZONE, 'SOA'], ['example.org', 'A']] as const) {
        for (const edns of [null, { udpSize: 1232, do: false }]) {
          const q = buildQuery(name, type, { id: 77, edns });
          const a = await sendUdp(plain.host, plain.port, q);
          const b = await sendUdp(signed.host, signed.port, q);
          assert.deepEqual(b, a, `${name} ${type} edns=${JSON.stringify(edns)}`);
        }
      }
      // DO=1 does change them
      const q = buildQuery(`web.production.${ZONE}`, 'SRV', { id: 77, edns: { udpSize: 1232, do: true } });
      assert.notDeepEqual(await sendUdp(signed.host, signed.port, q), await sendUdp(plain.host, plain.port, q));
    } finally {
      await plain.stop();
      await signed.stop();
    }
  });

  it('an empty registry: the apex validates for every type (it is never a name that does not exist)', async () => {
    const srv = await startServer(skyfile([`{ dnssec: { keys: ["${join(dir, key)}"] } }`, ...ZONE_PLUGINS]));
    try {
      for (const type of ['A', 'AAAA', 'SRV', 'TXT', 'SOA', 'NS', 'DNSKEY']) {
        const out = await delv(srv.port, anchor, ZONE, ZONE, type);
        assert.match(out, VALID, `${type}: ${out}`);
        assert.doesNotMatch(out, /TYPE128/, `${type}: ${out}`);
      }
    } finally {
      await srv.stop();
    }
  });

  for (const order of [['cache', 'dnssec'], ['dnssec', 'cache']]) {
    it(`${order.join(' before ')}: cached answers validate, and a registry change is never served under an old signature`, async () => {
      const entries = order.map((p) => (p === 'cache' ? '{ cache: { capacity: 100 } }' : `{ dnssec: { keys: ["${join(dir, key)}"] } }`));
      const srv = await startServer(skyfile([...entries, ...ZONE_PLUGINS]));
      try {
        await fill(srv);
        for (let i = 0; i < 2; i++) {
          const out = await delv(srv.port, anchor, ZONE, `web.production.${ZONE}`, 'SRV');
          assert.match(out, VALID, out);
        }
        assert.match(await delv(srv.port, anchor, ZONE, `nothing.${ZONE}`, 'A'), VALID);
        const reg = await srv.app.registry();
        await reg.put({ UUID: 'r3', Name: 'web', Version: '1.0', Environment: 'production', Region: 'east', Host: '10.0.0.3', Port: 81, TTL: 300 });
        const out = await delv(srv.port, anchor, ZONE, `web.production.${ZONE}`, 'SRV');
        assert.match(out, VALID, out);
        assert.match(out, /SRV\s+10 \d+ 81 r3\.skydns\.local\./, out);
      } finally {
        await srv.stop();
      }
    });
  }
});
