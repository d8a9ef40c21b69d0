/**
 * DNSSEC wire forms (RFC 4034): canonical owner names and RDATA (§6.2), the
 * data an RRSIG signs (§3.1.8.1) in canonical RR order (§6.3), DNSKEY RDATA,
 * key tags (Appendix B), DS digests (§5.1.4) and the record shapes for RRSIG,
 * DNSKEY and NSEC that the encoder writes. Signing itself (keys, crypto) is
 * the dnssec plugin's business: this file only lays out bytes.
 */
import { createHash } from 'node:crypto';
import * as packet from 'dns-packet';
import { asciiLower, nameToLabels } from './names.js';
import type { RR, SoaData, SrvData, MxData } from './types.js';
import { typeName, typeNumber } from './types.js';

export const Algorithm = { RSASHA256: 8, ECDSAP256SHA256: 13, ED25519: 15 } as const;
export const DNSKEY_ZONE = 0x0100;
export const DNSKEY_SEP = 0x0001;
/** RFC 9824 §2: the NXNAME pseudo-type in an NSEC bitmap says "this name does not exist". */
export const TYPE_NXNAME = 128;
export const TYPE_RRSIG = 46;
export const TYPE_NSEC = 47;
export const TYPE_DNSKEY = 48;
export const TYPE_DS = 43;

/** A name in canonical wire form: lowercase, uncompressed (RFC 4034 §6.2). */
export function canonicalName(name: string): Buffer {
  const labels = nameToLabels(asciiLower(name));
  const parts: Buffer[] = [];
  for (const l of labels) parts.push(Buffer.from([l.length]), l);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** RRSIG Labels field (RFC 4034 §3.1.3): the owner's labels, not the root, not a leading "*". */
export function signatureLabels(name: string): number {
  const labels = nameToLabels(name);
  return labels.length > 0 && labels[0]!.length === 1 && labels[0]![0] === 0x2a ? labels.length - 1 : labels.length;
}

interface Codec {
  encode: ((data: unknown, buf?: Buffer, offset?: number) => Buffer) & { bytes: number };
}
function codec(type: string): Codec {
  return (packet as unknown as { record(t: string): Codec }).record(type.toUpperCase());
}

/** The RDATA with the embedded names of the RFC 4034 §6.2 types lowercased (those SkyDNS can carry). */
function canonicalData(type: number, data: RR['data']): RR['data'] {
  switch (type) {
    case 2: case 5: case 12: case 39: // NS, CNAME, PTR, DNAME
      return asciiLower(data as string);
    case 15: {
      const mx = data as MxData;
      return { ...mx, exchange: asciiLower(mx.exchange) };
    }
    case 6: {
      const soa = data as SoaData;
      return { ...soa, mname: asciiLower(soa.mname), rname: asciiLower(soa.rname) };
    }
    case 33: {
      const srv = data as SrvData;
      return { ...srv, target: asciiLower(srv.target) };
    }
    default:
      return data;
  }
}

/** Canonical RDATA of one record, without the RDLENGTH prefix. */
export function canonicalRdata(rr: RR): Buffer {
  const type = typeNumber(rr.type);
  if (type === undefined) throw new Error(`unknown record type ${rr.type}`);
  const withLen = codec(packetTypeName(type)).encode(canonicalData(type, rr.data));
  return Buffer.from(withLen.subarray(2));
}

/** dns-packet's name for a type number (it spells unknown types UNKNOWN_n). */
function packetTypeName(t: number): string {
  const n = typeName(t);
  return n.startsWith('TYPE') ? `UNKNOWN_${t}` : n;
}

export interface RrsigFields {
  typeCovered: number;
  algorithm: number;
  labels: number;
  originalTTL: number;
  expiration: number;
  inception: number;
  keyTag: number;
  signerName: string;
}

/**
 * The bytes an RRSIG signs (RFC 4034 §3.1.8.1): its RDATA without the
 * signature, then every RR of the set in canonical form with the original
 * TTL, sorted by canonical RDATA and without duplicates (§6.3).
 */
export function signedData(f: RrsigFields, owner: string, classNum: number, rdatas: Buffer[]): Buffer {
  const head = Buffer.alloc(18);
  head.writeUInt16BE(f.typeCovered, 0);
  head[2] = f.algorithm;
  head[3] = f.labels;
  head.writeUInt32BE(f.originalTTL >>> 0, 4);
  head.writeUInt32BE(f.expiration >>> 0, 8);
  head.writeUInt32BE(f.inception >>> 0, 12);
  head.writeUInt16BE(f.keyTag, 16);
  const ownerWire = canonicalName(owner);
  const parts: Buffer[] = [head, canonicalName(f.signerName)];
  const sorted = [...rdatas].sort(Buffer.compare);
  for (let i = 0; i < sorted.length; i++) {
    const rd = sorted[i]!;
    if (i > 0 && rd.equals(sorted[i - 1]!)) continue;
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(f.typeCovered, 0);
    fixed.writeUInt16BE(classNum, 2);
    fixed.writeUInt32BE(f.originalTTL >>> 0, 4);
    fixed.writeUInt16BE(rd.length, 8);
    parts.push(ownerWire, fixed, rd);
  }
  return Buffer.concat(parts);
}

/** An RRSIG record for the encoder. */
export function rrsigRecord(owner: string, ttl: number, f: RrsigFields, signature: Buffer): RR {
  return {
    name: owner,
    type: 'RRSIG',
    ttl,
    data: {
      typeCovered: packetTypeName(f.typeCovered),
      algorithm: f.algorithm,
      labels: f.labels,
      originalTTL: f.originalTTL,
      expiration: f.expiration,
      inception: f.inception,
      keyTag: f.keyTag,
      signersName: asciiLower(f.signerName),
      signature,
    },
  };
}

export interface DnskeyFields {
  flags: number;
  algorithm: number;
  /** The public key field (RFC 4034 §2.1.4), algorithm-specific. */
  key: Buffer;
}

/** DNSKEY RDATA (flags, protocol 3, algorithm, key). */
export function dnskeyRdata(k: DnskeyFields): Buffer {
  const b = Buffer.alloc(4 + k.key.length);
  b.writeUInt16BE(k.flags, 0);
  b[2] = 3;
  b[3] = k.algorithm;
  k.key.copy(b, 4);
  return b;
}

export function dnskeyRecord(owner: string, ttl: number, k: DnskeyFields): RR {
  return { name: owner, type: 'DNSKEY', ttl, data: { flags: k.flags, algorithm: k.algorithm, key: k.key } };
}

/** RFC 4034 Appendix B key tag (not for algorithm 1). */
export function keyTag(rdata: Buffer): number {
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i]! : rdata[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** DS digest type 2 (SHA-256, RFC 4509): over the owner's canonical name and the DNSKEY RDATA. */
export function dsDigestSha256(owner: string, rdata: Buffer): Buffer {
  return createHash('sha256').update(canonicalName(owner)).update(rdata).digest();
}

/**
 * An NSEC record for the encoder. `next` may hold a `\000` label (compact
 * denial's `\000.<qname>`): it is written as a one-byte label holding 0.
 */
export function nsecRecord(owner: string, ttl: number, next: string, types: number[]): RR {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  return { name: owner, type: 'NSEC', ttl, data: { nextDomain: packetName(next), rrtypes: sorted.map(packetTypeName) } };
}

/** dns-packet writes label text as UTF-8 with no escapes: `\000` becomes the NUL character. */
function packetName(name: string): string {
  return name.replace(/\\000/g, '\u0000');
}

function sigTime(t: number): string {
  return new Date(t * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function typeText(t: string): string {
  return t.startsWith('UNKNOWN_') ? `TYPE${t.slice(8)}` : t;
}

function nameText(n: string): string {
  const s = n.replace(/\u0000/g, '\\000');
  return s === '' || s === '.' ? '.' : s.endsWith('.') ? s : `${s}.`;
}

/** Presentation form of RRSIG, DNSKEY, DS and NSEC RDATA (RFC 4034 §2.2, §3.2, §4.2, §5.3); undefined for other types. */
export function dnssecRdataText(rr: RR): string | undefined {
  const d = rr.data as Record<string, unknown>;
  switch (rr.type.toUpperCase()) {
    case 'RRSIG':
      return `${typeText(String(d.typeCovered))} ${d.algorithm} ${d.labels} ${d.originalTTL} ${sigTime(d.expiration as number)} ${sigTime(d.inception as number)} ${d.keyTag} ${nameText(String(d.signersName))} ${(d.signature as Buffer).toString('base64')}`;
    case 'DNSKEY':
      return `${d.flags} 3 ${d.algorithm} ${(d.key as Buffer).toString('base64')}`;
    case 'DS':
      return `${d.keyTag} ${d.algorithm} ${d.digestType} ${(d.digest as Buffer).toString('hex').toUpperCase()}`;
    case 'NSEC':
      return `${nameText(String(d.nextDomain))} ${(d.rrtypes as string[]).map(typeText).join(' ')}`;
    default:
      return undefined;
  }
}
