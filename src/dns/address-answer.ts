/**
 * Pre-encoded A/AAAA answers whose every record is owned by the question name
 * (synth's answers for a service name). The records are encoded once, each
 * owner a compression pointer to the question at offset 12 (RFC 1035 §4.1.4),
 * so an A record is 16 bytes and an AAAA record 28. A reply is then a header,
 * the client's own question bytes (its 0x20 spelling) and the records copied
 * from any starting one (round robin), with one TTL for the whole RRset.
 * The bytes are the ones `encodeResponse` writes for the same message
 * (flags AA, no OPT: the server appends the one each client needs).
 */
import { isIP } from 'node:net';
import * as packet from 'dns-packet';
import { allocReply } from './wire-answer.js';

export interface AddressRecords {
  /** The records back to back: pointer, TYPE, CLASS IN, TTL, RDLENGTH, address. */
  readonly records: Buffer;
  /** Bytes per record: 16 (A) or 28 (AAAA). */
  readonly size: number;
  readonly count: number;
  /** The TTL currently written in `records`. */
  ttl: number;
}

/** What the reply needs of the query (a plugin `Request` has it all). */
export interface AddressQuery {
  readonly id: number;
  readonly rd: boolean;
  readonly cd: boolean;
  /** The query as received: its question (12..qnameEnd+4) is copied into the reply. */
  readonly raw: Buffer;
  readonly qnameEnd: number;
}

interface RdataCodec {
  encode: ((data: unknown, buf: Buffer, offset: number) => void) & { bytes: number };
}

const codecs = packet as unknown as { record(t: string): RdataCodec };

/** Encodes `addresses` (IPv4 for type 1, IPv6 for type 28) in this order, with TTL 0. Throws on a malformed address. */
export function encodeAddressRecords(qtype: 1 | 28, addresses: readonly string[]): AddressRecords {
  const rdlen = qtype === 1 ? 4 : 16;
  const size = 12 + rdlen;
  const records = Buffer.alloc(size * addresses.length);
  const codec = codecs.record(qtype === 1 ? 'A' : 'AAAA');
  const family = qtype === 1 ? 4 : 6;
  for (let i = 0; i < addresses.length; i++) {
    if (isIP(addresses[i]!) !== family) throw new RangeError(`not an IPv${family} address: ${addresses[i]}`);
    const o = i * size;
    records.writeUInt16BE(0xc00c, o);
    records.writeUInt16BE(qtype, o + 2);
    records.writeUInt16BE(1, o + 4);
    codec.encode(addresses[i], records, o + 10); // writes RDLENGTH and the address
  }
  return { records, size, count: addresses.length, ttl: 0 };
}

/** The reply's length for a query whose question name ends at `qnameEnd`. */
export function addressAnswerLength(r: AddressRecords, qnameEnd: number): number {
  return qnameEnd + 4 + r.records.length;
}

/**
 * The reply to `q`: NOERROR, AA, every record once starting at record
 * `start`, all with TTL `ttl` (seconds; clamped as the encoder clamps).
 * Writing a TTL into the shared records happens only when it changes.
 */
export function addressAnswer(r: AddressRecords, q: AddressQuery, start: number, ttl: number): Buffer {
  const t = Math.max(0, Math.min(0x7fffffff, Math.floor(ttl))) >>> 0;
  const recs = r.records;
  if (t !== r.ttl) {
    for (let o = 6; o < recs.length; o += r.size) recs.writeUInt32BE(t, o);
    r.ttl = t;
  }
  const qEnd = q.qnameEnd + 4;
  const out = allocReply(qEnd + recs.length);
  out.writeUInt16BE(q.id, 0);
  out[2] = q.rd ? 0x85 : 0x84; // QR, opcode QUERY, AA, RD
  out[3] = q.cd ? 0x10 : 0x00; // CD, rcode NOERROR
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(r.count, 6);
  out.writeUInt32BE(0, 8); // NSCOUNT, ARCOUNT
  q.raw.copy(out, 12, 12, qEnd);
  const split = start * r.size;
  recs.copy(out, qEnd, split);
  recs.copy(out, qEnd + recs.length - split, 0, split);
  return out;
}
