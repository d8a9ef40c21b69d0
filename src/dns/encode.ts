/**
 * Message encoder with RFC 1035 §4.1.4 name compression and truncation.
 *
 * dns-packet writes every name in full; a 20-record SRV answer would be ~1.7x
 * the size bind9 sends. Here owner names and the names inside the RDATA of the
 * RFC 1035 types (CNAME, NS, PTR, MX, SOA) are compressed against every name
 * already written, matching case-insensitively so a pointer to the question
 * keeps the client's 0x20 spelling. SRV targets are written in full (RFC 2782:
 * "name compression is not to be used for this field") but are still offered as
 * pointer targets. Other types' RDATA is written by dns-packet's codecs,
 * uncompressed as RFC 3597 §4 requires.
 *
 * Truncation (RFC 2181 §9): records are dropped whole from the end. When an
 * answer or authority record does not fit, the rest is dropped and TC is set;
 * additional records that do not fit are dropped without TC. The header, the
 * question and the OPT record are always kept.
 */
import * as packet from 'dns-packet';
import { asciiLower, nameToLabels } from './names.js';
import type { Message, RR, SoaData, SrvData, MxData } from './types.js';
import { typeNumber } from './types.js';

export interface OptOut {
  udpSize: number;
  /** Full extended rcode; its upper 8 bits go in the OPT TTL field. */
  rcode: number;
  do: boolean;
}

export interface EncodeHeader {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  /** The question exactly as the client sent it (name bytes through class), or built from parts. */
  questionRaw?: Buffer;
  question?: { name: string; type: number; class: number };
}

const MAX_MESSAGE = 65535;
const OPT_SIZE = 11;
// One scratch buffer for every encode (Node runs this on one thread); the
// result is copied out. Large enough that a single oversize record cannot overflow it.
const scratch = Buffer.alloc(MAX_MESSAGE * 2);

class Writer {
  off = 12;
  private table = new Map<string, number>();
  constructor(readonly buf: Buffer) {}

  /** Writes a name, compressing against earlier names. */
  name(name: string, compress: boolean): void {
    const labels = nameToLabels(name);
    const buf = this.buf;
    for (let i = 0; i < labels.length; i++) {
      const key = suffixKey(labels, i);
      const ptr = compress ? this.table.get(key) : undefined;
      if (ptr !== undefined) {
        buf.writeUInt16BE(0xc000 | ptr, this.off);
        this.off += 2;
        return;
      }
      if (this.off < 0x4000 && !this.table.has(key)) this.table.set(key, this.off);
      const l = labels[i]!;
      buf[this.off] = l.length;
      l.copy(buf, this.off + 1);
      this.off += l.length + 1;
    }
    buf[this.off++] = 0;
  }

  /** Registers the names of a raw question already copied at offset 12. */
  learnQuestion(nameBytesEnd: number): void {
    let o = 12;
    while (o < nameBytesEnd && this.buf[o] !== 0) {
      const key = asciiLower(this.buf.toString('latin1', o, nameBytesEnd - 1));
      if (!this.table.has(key)) this.table.set(key, o);
      o += this.buf[o]! + 1;
    }
  }

  /** Drops compression targets at or past `off` (used when rolling a record back). */
  forget(off: number): void {
    for (const [k, v] of this.table) if (v >= off) this.table.delete(k);
  }
}

// Keys are the wire bytes of the suffix, lowercased, so they match learnQuestion's keys.
function suffixKey(labels: Buffer[], from: number): string {
  let s = '';
  for (let i = from; i < labels.length; i++) {
    const l = labels[i]!;
    s += String.fromCharCode(l.length) + l.toString('latin1');
  }
  return asciiLower(s);
}


function rrType(rr: RR): number {
  const t = typeNumber(rr.type);
  if (t === undefined) throw new Error(`unknown record type ${rr.type}`);
  return t;
}

function writeRecord(w: Writer, rr: RR): void {
  const buf = w.buf;
  w.name(rr.name, true);
  const type = rrType(rr);
  buf.writeUInt16BE(type, w.off);
  buf.writeUInt16BE(rr.class === undefined || rr.class === 'IN' ? 1 : classNumber(rr.class), w.off + 2);
  buf.writeUInt32BE(Math.max(0, Math.min(0x7fffffff, Math.floor(rr.ttl))) >>> 0, w.off + 4);
  const rdlenAt = w.off + 8;
  w.off += 10;
  const start = w.off;
  switch (type) {
    case 2: case 5: case 12: // NS, CNAME, PTR
      w.name(rr.data as string, true);
      break;
    case 15: { // MX
      const mx = rr.data as MxData;
      buf.writeUInt16BE(mx.preference ?? 0, w.off);
      w.off += 2;
      w.name(mx.exchange, true);
      break;
    }
    case 6: { // SOA
      const soa = rr.data as SoaData;
      w.name(soa.mname, true);
      w.name(soa.rname, true);
      buf.writeUInt32BE((soa.serial ?? 0) >>> 0, w.off);
      buf.writeUInt32BE((soa.refresh ?? 0) >>> 0, w.off + 4);
      buf.writeUInt32BE((soa.retry ?? 0) >>> 0, w.off + 8);
      buf.writeUInt32BE((soa.expire ?? 0) >>> 0, w.off + 12);
      buf.writeUInt32BE((soa.minimum ?? 0) >>> 0, w.off + 16);
      w.off += 20;
      break;
    }
    case 33: { // SRV: target not compressed (RFC 2782), but learnable
      const srv = rr.data as SrvData;
      buf.writeUInt16BE(srv.priority ?? 0, w.off);
      buf.writeUInt16BE(srv.weight ?? 0, w.off + 2);
      buf.writeUInt16BE(srv.port, w.off + 4);
      w.off += 6;
      w.name(srv.target, false);
      break;
    }
    default: {
      const codec = (packet as unknown as { record(t: string): RdataCodec }).record(rr.type.toUpperCase());
      // dns-packet's codecs write RDLENGTH themselves.
      codec.encode(rr.data, buf, rdlenAt);
      w.off = rdlenAt + codec.encode.bytes;
      return;
    }
  }
  buf.writeUInt16BE(w.off - start, rdlenAt);
}

interface RdataCodec {
  encode: ((data: unknown, buf: Buffer, offset: number) => void) & { bytes: number };
}

function classNumber(c: string): number {
  switch (c.toUpperCase()) {
    case 'IN': return 1;
    case 'CH': return 3;
    case 'HS': return 4;
    case 'ANY': return 255;
    default: {
      const m = /^CLASS(\d+)$/i.exec(c);
      if (m) return Number(m[1]);
      throw new Error(`unknown class ${c}`);
    }
  }
}

export interface Encoded {
  wire: Buffer;
  truncated: boolean;
}

/**
 * Encodes `msg` as a response to `h`, fitted to `limit` bytes (OPT included when `opt` is given).
 * Throws (Error) when a record cannot be encoded; the server turns that into SERVFAIL.
 */
export function encodeResponse(h: EncodeHeader, msg: Message, limit: number, opt: OptOut | null): Encoded {
  const buf = scratch;
  const w = new Writer(buf);
  const cap = Math.min(limit, MAX_MESSAGE) - (opt ? OPT_SIZE : 0);
  let qd = 0;
  if (h.questionRaw) {
    h.questionRaw.copy(buf, 12);
    w.off = 12 + h.questionRaw.length;
    w.learnQuestion(12 + h.questionRaw.length - 4);
    qd = 1;
  } else if (h.question) {
    w.name(h.question.name, true);
    buf.writeUInt16BE(h.question.type, w.off);
    buf.writeUInt16BE(h.question.class, w.off + 2);
    w.off += 4;
    qd = 1;
  }
  let truncated = false;
  const counts = [0, 0, 0];
  const sections = [msg.answers ?? [], msg.authorities ?? [], msg.additionals ?? []];
  outer: for (let s = 0; s < 3; s++) {
    for (const rr of sections[s]!) {
      const before = w.off;
      writeRecord(w, rr);
      if (w.off > cap) {
        w.forget(before);
        w.off = before;
        if (s < 2) truncated = true;
        break outer;
      }
      counts[s]!++;
    }
  }
  const rcode = msg.rcode;
  let arcount = counts[2]!;
  if (opt) {
    buf[w.off] = 0; // root owner
    buf.writeUInt16BE(41, w.off + 1);
    buf.writeUInt16BE(opt.udpSize, w.off + 3);
    buf[w.off + 5] = (opt.rcode >> 4) & 0xff;
    buf[w.off + 6] = 0; // version 0
    buf.writeUInt16BE(opt.do ? 0x8000 : 0, w.off + 7);
    buf.writeUInt16BE(0, w.off + 9);
    w.off += OPT_SIZE;
    arcount++;
  }
  const f = msg.flags ?? {};
  let flags = 0x8000 | ((h.opcode & 0xf) << 11) | (rcode & 0xf);
  if (f.aa) flags |= 0x0400;
  if (f.tc || truncated) flags |= 0x0200;
  if (h.rd) flags |= 0x0100;
  if (f.ra) flags |= 0x0080;
  if (f.ad) flags |= 0x0020;
  if (h.cd) flags |= 0x0010;
  buf.writeUInt16BE(h.id, 0);
  buf.writeUInt16BE(flags, 2);
  buf.writeUInt16BE(qd, 4);
  buf.writeUInt16BE(counts[0]!, 6);
  buf.writeUInt16BE(counts[1]!, 8);
  buf.writeUInt16BE(arcount, 10);
  return { wire: Buffer.from(buf.subarray(0, w.off)), truncated };
}
