/**
 * The dnssec plugin across a reload (keys read again; a bad key keeps the
 * running chain) and in a `workers: 2` group (each worker signs with the
 * keys it read). Keys are the plugin's testdata pairs, made by dnssec-keygen.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSkyfile } from '../src/config/load.js';
import { isSkyError } from '../src/errors.js';
import { queryTcp, queryUdp } from '../src/testing/client.js';
import { startServer } from '../src/testing/server.js';
import { delv, delvAnchor, installed } from './dnssec-tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const testdata = join(root, 'plugins/dnssec/testdata');
const KSK = 'Kskydns.local.+013+43540';
const ZSK = 'Kskydns.local.+013+52120';
const DO = { edns: { udpSize: 1232, do: true } };

const skyfile = (keys: string[], extra = ''): string =>
  `{ ${extra} registry: { backend: "embedded", path: "./data" }, reload: { watch: false }, chain: [{ dnssec: { keys: ${JSON.stringify(keys)} } }, { skydns: { zone: "skydns.local" } }] }`;

test('reload: a new key is read and served; a missing key fails the reload and the running chain keeps signing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-dnssec-reload-'));
  await cp(testdata, dir, { recursive: true });
  const srv = await startServer(skyfile([KSK]), { baseDir: dir });
  // The reloaded Skyfile, on the listener the test server bound.
  const config = async (keys: string[]) => {
    const c = await parseSkyfile(skyfile(keys), { baseDir: dir });
    return { ...c, dns: { ...c.dns, listen: srv.config.dns.listen } };
  };
  try {
    const keys = async (): Promise<number> => (await srv.udp('skydns.local', 'DNSKEY', DO)).msg!.answers!.filter((r) => r.type === 'DNSKEY').length;
    assert.equal(await keys(), 1);
    await assert.rejects(srv.app.reload(await config([KSK, 'Kskydns.local.+013+00007'])), (e) => {
      assert.ok(isSkyError(e, 'SKY_ERR_DNSSEC_KEY_READ'), String(e));
      assert.match((e as Error).message, /Kskydns\.local\.\+013\+00007\.key/);
      return true;
    });
    const soa = await srv.udp('skydns.local', 'SOA', DO);
    assert.deepEqual(soa.msg!.answers!.map((r) => r.type), ['SOA', 'RRSIG']);
    await srv.app.reload(await config([KSK, ZSK]));
    assert.equal(await keys(), 2);
    const signed = await srv.udp('skydns.local', 'SOA', DO);
    assert.equal((signed.msg!.answers![1]!.data as { keyTag: number }).keyTag, 52120, 'the ZSK signs once there is a KSK/ZSK split');
  } finally {
    await srv.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('workers: 2: every worker signs (replies over UDP and TCP carry RRSIGs, delv validates)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-dnssec-workers-'));
  await cp(testdata, dir, { recursive: true });
  const file = join(dir, 'Skyfile');
  await writeFile(file, skyfile([KSK, ZSK], 'dns: { listen: ["127.0.0.1:0"] }, workers: 2, shutdown: { graceMs: 2000 },'));
  const child = spawn(process.execPath, [join(root, 'bin/skydns'), 'serve', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const deadline = Date.now() + 30_000;
    while ((out.match(/"msg":"worker serving"/g) ?? []).length < 2 || !out.includes('SkyDNS serving DNS on')) {
      if (child.exitCode !== null || Date.now() > deadline) assert.fail(`group did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const line = out.split('\n').find((l) => l.includes('SkyDNS serving DNS on'))!;
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    // Each query from a fresh socket (source port): SO_REUSEPORT spreads them over both workers.
    for (let i = 0; i < 8; i++) {
      const a = await queryUdp('127.0.0.1', port, 'skydns.local', 'NS', DO);
      assert.deepEqual(a.answers!.map((r) => r.type), ['NS', 'RRSIG'], out);
    }
    const t = await queryTcp('127.0.0.1', port, 'nothing.skydns.local', 'A', DO);
    assert.ok(t.authorities!.some((r) => r.type === 'NSEC'));
    if (installed('delv')) {
      const anchor = await delvAnchor(dir, 'skydns.local', KSK);
      for (let i = 0; i < 4; i++) assert.match(await delv(port, anchor, 'skydns.local', 'skydns.local', 'SOA'), /; fully validated/);
    } else console.error('\n*** delv not installed: the workers test checked RRSIGs only, not validation ***\n');
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
});
