import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'bin/skydns');
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skydns-ds-'));
  await cp(join(root, 'plugins/dnssec/testdata'), join(dir, 'keys'), { recursive: true });
});
after(() => rm(dir, { recursive: true, force: true }));

async function skydns(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: dir });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

test('skydns dnssec ds prints the DS of the KSK, as dnssec-dsfromkey -2 does', async () => {
  await writeFile(join(dir, 'Skyfile'), '{ chain: [{ dnssec: { keys: ["keys/Kskydns.local.+013+43540", "keys/Kskydns.local.+013+52120"] } }, { skydns: { zone: "skydns.local" } }] }');
  const r = await skydns('dnssec', 'ds', '-c', 'Skyfile');
  assert.equal(r.code, 0, r.err);
  // `dnssec-dsfromkey -2 Kskydns.local.+013+43540.key`
  assert.equal(r.out, 'skydns.local. IN DS 43540 13 2 6D1273AD00A9667AE93A8E3A7BB3D5BD0C6B6C3FA32486DB3F04B60D78AF1187\n');
});

test('with one key of each kind only (CSKs), every key gets a DS', async () => {
  await writeFile(join(dir, 'csk.Skyfile'), '{ chain: [{ dnssec: { keys: ["keys/Kskydns.local.+015+03041", "keys/Kskydns.local.+008+20143"] } }] }');
  const r = await skydns('dnssec', 'ds', '--config', 'csk.Skyfile');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n').map((l) => l.split(' ').slice(3, 6).join(' ')), ['3041 15 2', '20143 8 2']);
});

test('usage errors and a Skyfile without dnssec or with a missing key are clear errors', async () => {
  assert.match((await skydns('dnssec')).err, /SKY_ERR_CLI_USAGE/);
  assert.match((await skydns('dnssec', 'keys')).err, /SKY_ERR_CLI_USAGE/);
  assert.match((await skydns('dnssec', 'ds', '--bogus')).err, /SKY_ERR_CLI_USAGE/);
  await writeFile(join(dir, 'plain.Skyfile'), '{ chain: [{ skydns: { zone: "skydns.local" } }] }');
  const none = await skydns('dnssec', 'ds', '-c', 'plain.Skyfile');
  assert.equal(none.code, 2, 'usage errors exit 2, as for every command');
  assert.match(none.err, /SKY_ERR_CLI_USAGE: .*no dnssec plugin/);
  await writeFile(join(dir, 'missing.Skyfile'), '{ chain: [{ dnssec: { keys: ["keys/Kskydns.local.+013+00001"] } }] }');
  const missing = await skydns('dnssec', 'ds', '-c', 'missing.Skyfile');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /SKY_ERR_DNSSEC_KEY_READ: .*Kskydns\.local\.\+013\+00001\.key/);
});
