/**
 * The bytes that cross the wire to an upstream: the query we build from the
 * client's, and the checks a reply must pass before it is believed.
 *
 * RFC 5452 §9.1: a resolver accepts a reply only when its source address and
 * port, its ID and its question all match the query; anything else is dropped
 * and the resolver keeps waiting. IDs come from a CSPRNG (§9.2); UDP queries
 * leave from a pool of sockets on random ephemeral ports, replaced over time
 * (see udp.ts).
 */
import { randomFillSync } from 'node:crypto';
import { allocReply } from '../../src/dns/index.js';
import { scanRecords, skipName, withoutOpt } from '../../src/dns/wire-answer.js';
import type { Request } from '../../src/plugin.js';

// Random IDs are drawn from a refilled pool: one CSPRNG call per 512 queries.
const pool = new Uint16Array(512);
let poolAt = pool.length;

export function randomId(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}

/** Largest UDP reply we ask upstreams for (the DNS flag day 2020 value). */
export const UPSTREAM_UDP_SIZE = 1232;

/**
 * The query sent upstream: a fresh ID, the client's RD and CD bits, its
 * question byte for byte (0x20 spelling included), and an OPT record only
 * when the client sent one, carrying its DO bit. The client's own EDNS options
 * (cookies, client subnet) are not passed on.
 */
export function buildUpstreamQuery(req: Request, id: number): Buffer {
  const qEnd = req.qnameEnd + 4;
  const opt = req.edns !== null;
  // From the pool (no zero fill): every byte is written below.
  const out = Buffer.allocUnsafe(qEnd + (opt ? 11 : 0));
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE((req.rd ? 0x0100 : 0) | (req.cd ? 0x0010 : 0), 2);
  out.writeUInt32BE(0x00010000, 4); // QDCOUNT 1, ANCOUNT 0
  out.writeUInt32BE(opt ? 1 : 0, 8); // NSCOUNT 0, ARCOUNT
  req.raw.copy(out, 12, 12, qEnd);
  if (req.edns) {
    // Root owner, TYPE OPT, CLASS = payload size, TTL = ext-rcode 0, version 0, DO flag; no RDATA.
    out[qEnd] = 0;
    out.writeUInt16BE(41, qEnd + 1);
    out.writeUInt16BE(Math.min(Math.max(512, req.edns.udpSize), UPSTREAM_UDP_SIZE), qEnd + 3);
    out.writeUInt32BE(req.do ? 0x8000 : 0, qEnd + 5);
    out.writeUInt16BE(0, qEnd + 9);
  }
  return out;
}

/** A health or loop probe: `name` (wire-ready labels) with a fresh ID, RD set, no EDNS. */
export function buildProbeQuery(labels: string[], qtype: number, id: number): Buffer {
  let len = 12 + 1 + 4;
  for (const l of labels) len += l.length + 1;
  const out = Buffer.alloc(len);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(0x0100, 2);
  out.writeUInt16BE(1, 4);
  let o = 12;
  for (const l of labels) {
    out[o] = l.length;
    out.write(l, o + 1, 'latin1');
    o += l.length + 1;
  }
  out[o] = 0;
  out.writeUInt16BE(qtype, o + 1);
  out.writeUInt16BE(1, o + 3);
  return out;
}

const lower = (b: number): number => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);

/**
 * Whether `reply` answers `query`: QR set, same ID, opcode QUERY, exactly one
 * question whose name matches case-insensitively (RFC 4343) and whose type
 * and class are the same. Length bytes of labels are below 64, so folding
 * every byte compares the labels and their lengths at once.
 */
export function replyMatches(reply: Buffer, query: Buffer): boolean {
  if (reply.length < 12) return false;
  if (reply.readUInt16BE(0) !== query.readUInt16BE(0)) return false;
  const flags = reply.readUInt16BE(2);
  if ((flags & 0x8000) === 0 || (flags & 0x7800) !== 0) return false;
  if (reply.readUInt16BE(4) !== 1) return false;
  // The query's question ends at its name's root byte + 4; the reply's must be byte-equal modulo case.
  let o = 12;
  for (;;) {
    if (o >= query.length || o >= reply.length) return false;
    const len = query[o]!;
    if (reply[o] !== len) return false;
    if (len === 0) break;
    for (let i = o + 1; i <= o + len; i++) {
      if (i >= reply.length || lower(reply[i]!) !== lower(query[i]!)) return false;
    }
    o += len + 1;
  }
  o += 1;
  return reply.length >= o + 4 && reply.readUInt32BE(o) === query.readUInt32BE(o);
}

/**
 * The upstream's reply made ready for the client, in one pass and one copy:
 * OPT stripped (the server adds the one this client needs; RFC 6891 allows
 * it anywhere in the additional section, once), the client's ID, RD bit and
 * question spelling back. Throws RangeError on a malformed reply.
 */
export function toClientWire(reply: Buffer, req: Request): Buffer {
  if (reply.length < 12) throw new RangeError('reply shorter than a header');
  if (reply.readUInt16BE(4) !== 1) throw new RangeError('reply does not have exactly one question');
  const qnameEnd = skipName(reply, 12);
  if (qnameEnd !== req.qnameEnd) throw new RangeError('reply question does not match the query');
  const off = qnameEnd + 4;
  if (off > reply.length) throw new RangeError('question runs past the end');
  const out = withoutOpt(reply, scanRecords(reply, off), allocReply);
  out.writeUInt16BE(req.id, 0);
  out[2] = req.rd ? out[2]! | 0x01 : out[2]! & 0xfe;
  req.raw.copy(out, 12, 12, qnameEnd);
  return out;
}

/** Whether the TC bit is set. */
export function isTruncated(reply: Buffer): boolean {
  return (reply[2]! & 0x02) !== 0;
}

export function rcodeOf(reply: Buffer): number {
  return reply[3]! & 0x0f;
}
