/**
 * The example plugin's tests, written as a plugin author outside this
 * repository writes them: only `skydns` and `skydns/testing` are imported.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSkyError } from 'skydns';
import { expectReply, parsePrometheus, runPlugin, setupPlugin, startServer } from 'skydns/testing';
import geo from './index.js';

// The test runs from dist/examples/geo/; the Skyfile and README stay in examples/geo/.
const source = fileURLToPath(new URL('../../../examples/geo/', import.meta.url));
const Z = 'geo.skydns.local';
const SOA = `${Z}. 0 IN SOA ns.${Z}. hostmaster.${Z}. 1 3600 600 86400 0`;
const networks = [
  { cidr: '10.1.0.0/16', region: 'east' },
  { cidr: '10.1.2.0/24', region: 'never' }, // shadowed: the first match wins
  { cidr: '2001:db8::/32', region: 'west' },
  { cidr: '192.0.2.7', region: 'single' },
];

describe('geo (example custom plugin)', () => {
  it('whoami: the client address over the family it used, and a TXT summary with its region', async () => {
    const p = await setupPlugin(geo, { networks });
    expectReply(await runPlugin(p, { name: `WhoAmI.${Z}`, type: 'A', remote: { address: '10.1.2.3', port: 5353 } }), {
      rcode: 'NOERROR',
      aa: true,
      answer: [`WhoAmI.${Z}. 0 IN A 10.1.2.3`],
    });
    expectReply(await runPlugin(p, { name: `whoami.${Z}`, type: 'AAAA', remote: { address: '2001:db8::53', family: 'IPv6' } }), {
      answer: [`whoami.${Z}. 0 IN AAAA 2001:db8::53`],
    });
    expectReply(await runPlugin(p, { name: `whoami.${Z}`, type: 'TXT', transport: 'tcp', remote: { address: '::ffff:10.1.9.9', port: 40000, family: 'IPv6' } }), {
      answer: [`whoami.${Z}. 0 IN TXT "addr=10.1.9.9" "port=40000" "proto=tcp" "region=east"`],
    });
    // An IPv4 client asking AAAA: the name exists, no data of that type.
    expectReply(await runPlugin(p, { name: `whoami.${Z}`, type: 'AAAA', remote: { address: '10.1.2.3' } }), { rcode: 'NOERROR', answer: [], ns: [SOA] });
  });

  it('region: first matching network, a single address, or the fallback', async () => {
    const p = await setupPlugin(geo, { networks, fallback: 'far' });
    const region = async (address: string, family: 'IPv4' | 'IPv6' = 'IPv4') => (await runPlugin(p, { name: `region.${Z}`, type: 'TXT', remote: { address, family } })).answer;
    assert.deepEqual(await region('10.1.2.3'), [`region.${Z}. 0 IN TXT "east"`]);
    assert.deepEqual(await region('2001:db8:1::1', 'IPv6'), [`region.${Z}. 0 IN TXT "west"`]);
    assert.deepEqual(await region('192.0.2.7'), [`region.${Z}. 0 IN TXT "single"`]);
    assert.deepEqual(await region('192.0.2.8'), [`region.${Z}. 0 IN TXT "far"`]);
  });

  it('SOA at the apex, NXDOMAIN for other names in the zone, and everything else passes on', async () => {
    const p = await setupPlugin(geo, {});
    expectReply(await runPlugin(p, { name: Z, type: 'SOA' }), { rcode: 'NOERROR', aa: true, answer: [SOA] });
    expectReply(await runPlugin(p, { name: `nothing.${Z}`, type: 'A' }), { rcode: 'NXDOMAIN', aa: true, answer: [], ns: [SOA] });
    const passed = await runPlugin(p, { name: 'example.org', type: 'A' }, async () => ({ msg: { rcode: 0, answers: [{ name: 'example.org', type: 'A', ttl: 60, data: '192.0.2.1' }] } }));
    expectReply(passed, { rcode: 'NOERROR', answer: ['example.org. 60 IN A 192.0.2.1'] });
  });

  it('refuses a malformed network with the key path, and unknown options', async () => {
    for (const cidr of ['10.1.0.0/33', 'east', '10.0.0.0/8/1', '2001:db8::/129']) {
      await assert.rejects(setupPlugin(geo, { networks: [{ cidr, region: 'x' }] }), (e) => {
        assert.ok(isSkyError(e, 'SKY_ERR_CONFIG_INVALID'), String(e));
        assert.match(e.path ?? '', /\.networks\[0\]\.cidr$/);
        return true;
      });
    }
    await assert.rejects(setupPlugin(geo, { zones: ['x'] }), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
    await assert.rejects(setupPlugin(geo, { networks: [{ cidr: '10.0.0.0/8', region: 'two words' }] }), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
  });

  it('the Skyfile beside it loads the compiled plugin by path, serves it over real sockets, and counts by region', async () => {
    const skyfile = readFileSync(`${source}Skyfile`, 'utf8').replace(/listen: \["[^"]*"\]/, 'listen: ["127.0.0.1:0"]');
    const srv = await startServer(skyfile, { baseDir: source });
    try {
      const txt = await srv.udp(`whoami.${Z}`, 'TXT');
      assert.equal(txt.rcode, 'NOERROR');
      const strings = (txt.msg!.answers![0]!.data as Buffer[]).map(String);
      assert.deepEqual(strings.slice(2), ['proto=udp', 'region=loopback']);
      assert.equal(strings[0], 'addr=127.0.0.1');
      assert.equal((await srv.tcp(`whoami.${Z}`, 'A')).msg!.answers![0]!.data, '127.0.0.1');
      const exposition = parsePrometheus(await srv.app.metrics.registry.metrics());
      assert.equal(exposition.value('skydns_geo_queries_total', { region: 'loopback' }), 2);
    } finally {
      await srv.stop();
    }
  });

  it('the README example boots', async () => {
    const readme = readFileSync(`${source}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('\n## Examples'), readme.indexOf('\n## ', readme.indexOf('\n## Examples') + 1));
    const blocks = [...section.matchAll(/```json5\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.ok(blocks.length > 0);
    for (const b of blocks) {
      const srv = await startServer(b, { baseDir: source });
      assert.equal((await srv.udp(`region.${Z}`, 'TXT')).msg!.answers?.length, 1);
      await srv.stop();
    }
  });
});
