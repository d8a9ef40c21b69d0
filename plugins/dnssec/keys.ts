/**
 * BIND key pairs as `dnssec-keygen` writes them: `K<zone>.+<alg>+<tag>.key`
 * (the DNSKEY record in presentation form) and `.private` (the private key in
 * BIND's "Private-key-format: v1.x" text). Both files are read and checked
 * against each other and against their file name: a key that does not load
 * whole is an error naming the file, never a key that signs half the zone.
 */
import { createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Algorithm, DNSKEY_SEP, DNSKEY_ZONE, dnskeyRdata, keyTag, type DnskeyFields } from '../../src/dns/dnssec.js';
import { asciiLower, trimDot } from '../../src/dns/names.js';
import { SkyError, type ErrorCode } from '../../src/errors.js';

export interface ZoneKey {
  /** The zone the key is for (lowercase, no trailing dot). */
  zone: string;
  dnskey: DnskeyFields;
  tag: number;
  /** SEP bit set: a key-signing key (used for the DNSKEY RRset). */
  ksk: boolean;
  privateKey: KeyObject;
  /** The `.key` file, for messages. */
  file: string;
}

const SUPPORTED: Record<number, string> = { [Algorithm.RSASHA256]: 'RSASHA256', [Algorithm.ECDSAP256SHA256]: 'ECDSAP256SHA256', [Algorithm.ED25519]: 'ED25519' };

function fail(code: ErrorCode, file: string, why: string): never {
  throw new SkyError(code, `DNSSEC key ${file}: ${why}`, { path: file });
}

/** `K<zone>.+<alg>+<tag>` with or without `.key` / `.private`, resolved against `baseDir`. */
export function keyBase(name: string, baseDir: string): string {
  const p = resolve(baseDir, name);
  return p.replace(/\.(key|private)$/, '');
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    return fail('SKY_ERR_DNSSEC_KEY_READ', file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

interface PublicPart {
  zone: string;
  dnskey: DnskeyFields;
}

/** The DNSKEY line of a `.key` file (`;` comments, an optional TTL and class). */
export function parsePublicFile(text: string, file: string): PublicPart {
  const body = text.split('\n').map((l) => l.replace(/;.*$/, '').trim()).filter(Boolean).join(' ');
  const tok = body.split(/\s+/);
  const at = tok.findIndex((t) => t.toUpperCase() === 'DNSKEY');
  if (at < 1 || tok.length < at + 5) fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, 'has no "<zone> IN DNSKEY <flags> 3 <alg> <key>" line');
  const flags = Number(tok[at + 1]);
  const protocol = Number(tok[at + 2]);
  const algorithm = Number(tok[at + 3]);
  const b64 = tok.slice(at + 4).join('');
  if (!Number.isInteger(flags) || protocol !== 3 || !Number.isInteger(algorithm) || !/^[A-Za-z0-9+/]+=*$/.test(b64)) {
    fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, 'DNSKEY line is malformed');
  }
  if (!(flags & DNSKEY_ZONE)) fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, `flags ${flags} lack the zone-key bit (256): not a zone key`);
  return { zone: asciiLower(trimDot(tok[0]!)), dnskey: { flags, algorithm, key: Buffer.from(b64, 'base64') } };
}

/** The `Key: value` fields of a `.private` file. */
export function parsePrivateFile(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

const b64url = (b: Buffer): string => b.toString('base64url');

function sized(b: Buffer, n: number, file: string): Buffer {
  if (b.length !== n) fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, `PrivateKey is ${b.length} bytes, not ${n}`);
  return b;
}

/** `b` with zero bytes in front up to `n` bytes (longer or empty: unchanged, for sized() to refuse). */
function leftPad(b: Buffer, n: number): Buffer {
  return b.length > 0 && b.length < n ? Buffer.concat([Buffer.alloc(n - b.length), b]) : b;
}

function field(f: Map<string, string>, name: string, file: string): Buffer {
  const v = f.get(name);
  if (!v) fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, `has no ${name} field`);
  return Buffer.from(v, 'base64');
}

/** The private key as a node:crypto KeyObject (through JWK, which every algorithm here has). */
function privateKeyOf(algorithm: number, f: Map<string, string>, pub: Buffer, file: string): KeyObject {
  let jwk: Record<string, string>;
  switch (algorithm) {
    case Algorithm.ECDSAP256SHA256:
      if (pub.length !== 64) fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, `ECDSA P-256 public key is ${pub.length} bytes, not 64`);
      {
        // The public point is derived from the private scalar, not taken from the .key file,
        // so a .private of another pair is caught by the comparison in loadKey.
        // BIND writes the scalar as a minimal big-endian integer (BN_bn2bin): about one key
        // in 256 has a leading zero byte and so only 31 bytes, or fewer. Left-pad to 32.
        const d = sized(leftPad(field(f, 'PrivateKey', file), 32), 32, file);
        let point: Buffer;
        try {
          const ecdh = createECDH('prime256v1');
          ecdh.setPrivateKey(d);
          point = ecdh.getPublicKey();
        } catch (err) {
          return fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, `private key does not load: ${(err as Error).message}`);
        }
        jwk = { kty: 'EC', crv: 'P-256', d: b64url(d), x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33)) };
      }
      break;
    case Algorithm.ED25519:
      if (pub.length !== 32) fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, `Ed25519 public key is ${pub.length} bytes, not 32`);
      {
        // PKCS#8 of the bare seed (RFC 8410): node derives the public key from it.
        const seed = sized(field(f, 'PrivateKey', file), 32, file);
        const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
        try {
          return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
        } catch (err) {
          return fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, `private key does not load: ${(err as Error).message}`);
        }
      }
    case Algorithm.RSASHA256: {
      const g = (n: string): string => b64url(field(f, n, file));
      jwk = { kty: 'RSA', n: g('Modulus'), e: g('PublicExponent'), d: g('PrivateExponent'), p: g('Prime1'), q: g('Prime2'), dp: g('Exponent1'), dq: g('Exponent2'), qi: g('Coefficient') };
      break;
    }
    default:
      return fail('SKY_ERR_DNSSEC_KEY_ALGORITHM', file, `algorithm ${algorithm} is not supported (use 13 ECDSAP256SHA256, 15 ED25519 or 8 RSASHA256)`);
  }
  try {
    return createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    return fail('SKY_ERR_DNSSEC_KEY_FORMAT', file, `private key does not load: ${(err as Error).message}`);
  }
}

/** The DNSKEY public key field a private key implies (to check the pair belongs together). */
function publicFieldOf(algorithm: number, key: KeyObject): Buffer {
  const j = createPublicKey(key).export({ format: 'jwk' });
  const b = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');
  if (algorithm === Algorithm.ECDSAP256SHA256) return Buffer.concat([b(j.x), b(j.y)]);
  if (algorithm === Algorithm.ED25519) return b(j.x);
  // RFC 3110 §2: exponent length (1 byte, or 0 and 2 bytes), exponent, modulus.
  const e = b(j.e);
  const n = b(j.n);
  const len = e.length < 256 ? Buffer.from([e.length]) : Buffer.from([0, e.length >> 8, e.length & 0xff]);
  return Buffer.concat([len, e, n]);
}

/**
 * Loads one key pair. `zones` are the zones the plugin signs: the key's owner
 * must be one of them. Every mismatch is a SkyError naming the file.
 */
export async function loadKey(name: string, baseDir: string, zones?: readonly string[]): Promise<ZoneKey> {
  const base = keyBase(name, baseDir);
  const pubFile = `${base}.key`;
  const privFile = `${base}.private`;
  const pub = parsePublicFile(await readText(pubFile), pubFile);
  const priv = parsePrivateFile(await readText(privFile));
  const alg = /^(\d+)/.exec(priv.get('Algorithm') ?? '');
  if (!priv.get('Private-key-format')?.startsWith('v1.') || !alg) fail('SKY_ERR_DNSSEC_KEY_FORMAT', privFile, 'is not a BIND private key file (Private-key-format v1.x with an Algorithm line)');
  if (Number(alg[1]) !== pub.dnskey.algorithm) {
    fail('SKY_ERR_DNSSEC_KEY_MISMATCH', privFile, `algorithm ${alg[1]} differs from the .key file's ${pub.dnskey.algorithm}`);
  }
  if (!SUPPORTED[pub.dnskey.algorithm]) {
    fail('SKY_ERR_DNSSEC_KEY_ALGORITHM', pubFile, `algorithm ${pub.dnskey.algorithm} is not supported (use 13 ECDSAP256SHA256, 15 ED25519 or 8 RSASHA256)`);
  }
  const privateKey = privateKeyOf(pub.dnskey.algorithm, priv, pub.dnskey.key, privFile);
  if (!publicFieldOf(pub.dnskey.algorithm, privateKey).equals(pub.dnskey.key)) {
    fail('SKY_ERR_DNSSEC_KEY_MISMATCH', privFile, `private key does not belong to the public key in ${pubFile}`);
  }
  const tag = keyTag(dnskeyRdata(pub.dnskey));
  // The file name, when it has the dnssec-keygen form, must agree with the contents.
  const m = /^K(.+)\.\+(\d{3})\+(\d{5})$/.exec(basename(base));
  if (m) {
    if (asciiLower(trimDot(m[1]!)) !== pub.zone) fail('SKY_ERR_DNSSEC_KEY_MISMATCH', pubFile, `file name says zone ${m[1]} but the key is for ${pub.zone}`);
    if (Number(m[2]) !== pub.dnskey.algorithm) fail('SKY_ERR_DNSSEC_KEY_MISMATCH', pubFile, `file name says algorithm ${Number(m[2])} but the key is algorithm ${pub.dnskey.algorithm}`);
    if (Number(m[3]) !== tag) fail('SKY_ERR_DNSSEC_KEY_MISMATCH', pubFile, `file name says key tag ${Number(m[3])} but the key's tag is ${tag}`);
  }
  if (zones && !zones.includes(pub.zone)) fail('SKY_ERR_DNSSEC_KEY_MISMATCH', pubFile, `key is for zone ${pub.zone}, which is not among the zones signed (${zones.join(', ')})`);
  return { zone: pub.zone, dnskey: pub.dnskey, tag, ksk: (pub.dnskey.flags & DNSKEY_SEP) !== 0, privateKey, file: pubFile };
}
