import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSkyError } from '../../src/errors.js';
import { loadKey } from './keys.js';

// Key pairs made by dnssec-keygen (BIND 9.18) for skydns.local.
const testdata = fileURLToPath(new URL('../../../plugins/dnssec/testdata/', import.meta.url));
const ZSK13 = 'Kskydns.local.+013+52120';
const KSK13 = 'Kskydns.local.+013+43540';
const ZSK15 = 'Kskydns.local.+015+03041';
const ZSK8 = 'Kskydns.local.+008+20143';
// An ECDSA key whose private scalar BIND wrote in 31 bytes (its first byte is zero).
const ZSK13_SHORT = 'Kskydns.local.+013+31656';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skydns-keys-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function expectCode(p: Promise<unknown>, code: string, file: string): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(isSkyError(e), String(e));
    assert.equal(e.code, code);
    assert.ok(e.message.includes(file), `message names ${file}: ${e.message}`);
    return true;
  });
}

test('loads ECDSAP256SHA256, ED25519 and RSASHA256 pairs; the tag and flags come from the key', async () => {
  const k = await loadKey(ZSK13, testdata);
  assert.deepEqual([k.zone, k.tag, k.dnskey.algorithm, k.ksk], ['skydns.local', 52120, 13, false]);
  const ksk = await loadKey(`${KSK13}.key`, testdata);
  assert.deepEqual([ksk.tag, ksk.ksk], [43540, true]);
  assert.equal((await loadKey(`${ZSK15}.private`, testdata)).tag, 3041);
  assert.equal((await loadKey(ZSK8, testdata)).dnskey.algorithm, 8);
});

test('an ECDSA private key BIND wrote in 31 bytes (a leading zero dropped) loads and matches its DNSKEY; 33 bytes are refused', async () => {
  const priv = await readFile(join(testdata, `${ZSK13_SHORT}.private`), 'utf8');
  assert.equal(Buffer.from(/PrivateKey: (\S+)/.exec(priv)![1]!, 'base64').length, 31);
  assert.equal((await loadKey(ZSK13_SHORT, testdata)).tag, 31656);
  await copyFile(join(testdata, `${ZSK13_SHORT}.key`), join(dir, `${ZSK13_SHORT}.key`));
  await writeFile(join(dir, `${ZSK13_SHORT}.private`), priv.replace(/PrivateKey: .*/, `PrivateKey: ${Buffer.alloc(33, 7).toString('base64')}`));
  await expectCode(loadKey(ZSK13_SHORT, dir), 'SKY_ERR_DNSSEC_KEY_FORMAT', `${ZSK13_SHORT}.private`);
});

test('a missing file is SKY_ERR_DNSSEC_KEY_READ naming it', async () => {
  await expectCode(loadKey('Kskydns.local.+013+00001', testdata), 'SKY_ERR_DNSSEC_KEY_READ', 'Kskydns.local.+013+00001.key');
  await copyFile(join(testdata, `${ZSK13}.key`), join(dir, `${ZSK13}.key`));
  await expectCode(loadKey(ZSK13, dir), 'SKY_ERR_DNSSEC_KEY_READ', `${ZSK13}.private`);
});

test('a private key of another pair is SKY_ERR_DNSSEC_KEY_MISMATCH', async () => {
  await copyFile(join(testdata, `${ZSK13}.key`), join(dir, `${ZSK13}.key`));
  await copyFile(join(testdata, `${KSK13}.private`), join(dir, `${ZSK13}.private`));
  await expectCode(loadKey(ZSK13, dir), 'SKY_ERR_DNSSEC_KEY_MISMATCH', `${ZSK13}.private`);
  // Ed25519: another 32-byte seed
  await copyFile(join(testdata, `${ZSK15}.key`), join(dir, `${ZSK15}.key`));
  const priv = await readFile(join(testdata, `${ZSK15}.private`), 'utf8');
  await writeFile(join(dir, `${ZSK15}.private`), priv.replace(/PrivateKey: .*/, `PrivateKey: ${Buffer.alloc(32, 7).toString('base64')}`));
  await expectCode(loadKey(ZSK15, dir), 'SKY_ERR_DNSSEC_KEY_MISMATCH', `${ZSK15}.private`);
});

test('a file name whose tag, algorithm or zone differ from the key is SKY_ERR_DNSSEC_KEY_MISMATCH', async () => {
  for (const name of ['Kskydns.local.+013+11111', 'Kskydns.local.+015+52120', 'Kother.zone.+013+52120']) {
    await copyFile(join(testdata, `${ZSK13}.key`), join(dir, `${name}.key`));
    await copyFile(join(testdata, `${ZSK13}.private`), join(dir, `${name}.private`));
    await expectCode(loadKey(name, dir), 'SKY_ERR_DNSSEC_KEY_MISMATCH', `${name}.key`);
  }
});

test('a key for a zone that is not signed is SKY_ERR_DNSSEC_KEY_MISMATCH', async () => {
  await expectCode(loadKey(ZSK13, testdata, ['example.org']), 'SKY_ERR_DNSSEC_KEY_MISMATCH', `${ZSK13}.key`);
});

test('algorithms of the .key and .private that differ, an unsupported algorithm, and garbage are refused', async () => {
  const pub = await readFile(join(testdata, `${ZSK13}.key`), 'utf8');
  const priv = await readFile(join(testdata, `${ZSK13}.private`), 'utf8');
  await writeFile(join(dir, 'a.key'), pub);
  await writeFile(join(dir, 'a.private'), priv.replace('Algorithm: 13', 'Algorithm: 15'));
  await expectCode(loadKey('a', dir), 'SKY_ERR_DNSSEC_KEY_MISMATCH', 'a.private');
  await writeFile(join(dir, 'b.key'), pub.replace(' 3 13 ', ' 3 14 '));
  await writeFile(join(dir, 'b.private'), priv.replace('Algorithm: 13', 'Algorithm: 14'));
  await expectCode(loadKey('b', dir), 'SKY_ERR_DNSSEC_KEY_ALGORITHM', 'b.key');
  await writeFile(join(dir, 'c.key'), 'hello\n');
  await writeFile(join(dir, 'c.private'), priv);
  await expectCode(loadKey('c', dir), 'SKY_ERR_DNSSEC_KEY_FORMAT', 'c.key');
  await writeFile(join(dir, 'd.key'), pub);
  await writeFile(join(dir, 'd.private'), priv.replace(/PrivateKey: .*/, 'PrivateKey: AAAA'));
  await expectCode(loadKey('d', dir), 'SKY_ERR_DNSSEC_KEY_FORMAT', 'd.private');
  await writeFile(join(dir, 'e.key'), pub.replace('DNSKEY 256', 'DNSKEY 0'));
  await writeFile(join(dir, 'e.private'), priv);
  await expectCode(loadKey('e', dir), 'SKY_ERR_DNSSEC_KEY_FORMAT', 'e.key');
});
