/**
 * The hot-path parser: header, the one question and the OPT record of a query,
 * without decoding anything else. It never throws: every malformed input maps
 * to a verdict (drop, FORMERR, NOTIMP, BADVERS, NOTAUTH) the server can answer
 * with. Records after the question are looked at only when the counts say
 * there are some (a plain query has none): OPT (RFC 6891) and TSIG (RFC 8945,
 * tsig.ts: no key is known, so a signed query is NOTAUTH/BADKEY).
 */
import { asciiLower, labelToText, MAX_NAME } from './names.js';
import { readTsig, TSIG_TYPE, type TsigQuery } from './tsig.js';
import { Rcode, Type } from './types.js';

export interface Edns {
  /** Requestor's UDP payload size, at least 512 (RFC 6891 §6.2.5). */
  udpSize: number;
  version: number;
  do: boolean;
}

export interface ParsedQuery {
  id: number;
  /** The 16-bit flags word as sent. */
  flags: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  /** Question name as sent (0x20 spelling kept), presentation form, no trailing dot. */
  qname: string;
  /** `qname` with ASCII letters lowercased (the same string when it has none in upper case). */
  name: string;
  qtype: number;
  qclass: number;
  /** Offset just past the question's name (the name spans 12..qnameEnd). */
  qnameEnd: number;
  /** Offset just past the question. */
  questionEnd: number;
  edns: Edns | null;
}

export type QueryVerdict =
  | { kind: 'ok'; query: ParsedQuery }
  | { kind: 'drop'; reason: string }
  /** Answer with `rcode`; `query` has what could be parsed (id, flags, maybe the question, the TSIG record to answer). */
  | { kind: 'error'; rcode: number; reason: string; query: Partial<ParsedQuery> & { id: number; flags: number; opcode: number; tsig?: TsigQuery } };

const QR = 0x8000;

/** Bytes that need no escaping in presentation form (letters, digits, '-', '_', and the like). */
const PLAIN = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) PLAIN[c] = 1;
for (const c of [0x2e, 0x5c, 0x22, 0x28, 0x29, 0x3b, 0x40, 0x24]) PLAIN[c] = 0;

const scratch = Buffer.alloc(256);
const lowerScratch = Buffer.alloc(256);
/** Buffer's latin1 decoder without toString's encoding dispatch (present on every Node Buffer). */
type Latin1 = { latin1Slice(start: number, end: number): string };
const text = (b: Buffer, n: number): string => (b as unknown as Latin1).latin1Slice(0, n);

/** The text of a name that needed escapes (rare): label by label. */
function escapedNameText(buf: Buffer): string {
  const parts: string[] = [];
  for (let o = 12; buf[o] !== 0; o += buf[o]! + 1) parts.push(labelToText(buf, o + 1, o + 1 + buf[o]!));
  return parts.join('.');
}

/** Skips a (possibly compressed) name; returns the offset after it or -1. */
function skipName(buf: Buffer, off: number): number {
  for (let hops = 0; hops < 128; hops++) {
    if (off >= buf.length) return -1;
    const len = buf[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    off += len + 1;
  }
  return -1;
}

function fail(id: number, flags: number, rcode: number, reason: string, extra?: Partial<ParsedQuery> & { tsig?: TsigQuery }): QueryVerdict {
  const query = { id, flags, opcode: (flags >> 11) & 0xf, rd: (flags & 0x0100) !== 0, cd: (flags & 0x0010) !== 0 };
  return { kind: 'error', rcode, reason, query: extra ? Object.assign(query, extra) : query };
}

/**
 * Parses one query. The success path builds one object literal and the two
 * name strings (as sent, and lowercased) in a single pass over the labels;
 * no closures, no spreads: it runs for every datagram.
 */
export function parseQuery(buf: Buffer): QueryVerdict {
  if (buf.length < 12) return { kind: 'drop', reason: 'shorter than a header' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & QR) return { kind: 'drop', reason: 'QR bit set (a response)' };
  const opcode = (flags >> 11) & 0xf;
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);

  if (qdcount !== 1) {
    return opcode !== 0 ? fail(id, flags, Rcode.NOTIMP, `opcode ${opcode}`) : fail(id, flags, Rcode.FORMERR, `QDCOUNT is ${qdcount}, not 1`);
  }

  // The question name: plain labels only (a pointer in the first name can only point backwards into the header).
  // Plain bytes are copied as they go, twice: as sent and lowercased; length bytes become dots.
  let off = 12;
  let n = 0;
  let plain = true;
  let upper = false;
  for (;;) {
    if (off >= buf.length) return fail(id, flags, Rcode.FORMERR, 'question name runs past the end');
    const len = buf[off]!;
    if (len === 0) { off += 1; break; }
    if ((len & 0xc0) !== 0) return fail(id, flags, Rcode.FORMERR, 'compressed or extended label in the question');
    if (off + 1 + len > buf.length) return fail(id, flags, Rcode.FORMERR, 'question label runs past the end');
    // Wire length so far: the labels, this one, and the root byte.
    if (off - 12 + 1 + len + 1 > MAX_NAME) return fail(id, flags, Rcode.FORMERR, 'question name over 255 bytes');
    if (n > 0) { scratch[n] = 0x2e; lowerScratch[n] = 0x2e; n++; }
    for (let i = off + 1, end = off + 1 + len; i < end; i++) {
      const c = buf[i]!;
      if (PLAIN[c] === 0) plain = false;
      scratch[n] = c;
      if (c >= 0x41 && c <= 0x5a) { upper = true; lowerScratch[n] = c | 0x20; } else lowerScratch[n] = c;
      n++;
    }
    off += 1 + len;
  }
  const qnameEnd = off;
  if (off + 4 > buf.length) return fail(id, flags, Rcode.FORMERR, 'question type/class missing');
  const qtype = buf.readUInt16BE(off);
  const qclass = buf.readUInt16BE(off + 2);
  off += 4;
  let qname: string;
  let name: string;
  if (n === 0) qname = name = '.';
  else if (plain) {
    qname = text(scratch, n);
    name = upper ? text(lowerScratch, n) : qname;
  } else {
    qname = escapedNameText(buf);
    name = upper ? asciiLower(qname) : qname;
  }
  const questionEnd = off;
  if (opcode !== 0) return fail(id, flags, Rcode.NOTIMP, `opcode ${opcode}`, { qname, name, qtype, qclass, qnameEnd, questionEnd });

  // Skip answer and authority records (a query normally has none), then look for OPT.
  let edns: Edns | null = null;
  let badVersion = -1;
  let tsig: TsigQuery | null = null;
  const total = ancount + nscount + arcount;
  for (let i = 0; i < total; i++) {
    const nameStart = off;
    off = skipName(buf, off);
    let problem: string | null = null;
    if (off < 0 || off + 10 > buf.length) problem = 'record runs past the end';
    else {
      const type = buf.readUInt16BE(off);
      const rdlen = buf.readUInt16BE(off + 8);
      const end = off + 10 + rdlen;
      if (end > buf.length) problem = 'record data runs past the end';
      else if (type === Type.OPT) {
        if (i < ancount + nscount) problem = 'OPT outside the additional section';
        else if (edns) problem = 'more than one OPT record';
        else if (buf[nameStart] !== 0) problem = 'OPT owner is not the root';
        else {
          // Options must tile the RDATA exactly.
          let o = off + 10;
          while (o < end && o + 4 <= end) o += 4 + buf.readUInt16BE(o + 2);
          if (o !== end) problem = 'malformed EDNS option';
          else {
            const version = buf[off + 5]!;
            edns = { udpSize: Math.max(512, buf.readUInt16BE(off + 2)), version, do: (buf.readUInt16BE(off + 6) & 0x8000) !== 0 };
            if (version !== 0) badVersion = version;
          }
        }
      }
      else if (type === TSIG_TYPE) {
        // RFC 8945 §5.1: one TSIG, the last record of the additional section.
        if (i !== total - 1 || i < ancount + nscount) problem = 'TSIG is not the last record of the additional section';
        else {
          const t = readTsig(buf, nameStart, off);
          if (typeof t === 'string') problem = t;
          else tsig = t;
        }
      }
      off = end;
    }
    if (problem !== null) return fail(id, flags, Rcode.FORMERR, problem, { qname, name, qtype, qclass, qnameEnd, questionEnd });
  }
  if (badVersion >= 0) return fail(id, flags, Rcode.BADVERS, `EDNS version ${badVersion}`, { qname, name, qtype, qclass, qnameEnd, questionEnd, edns });
  if (tsig !== null) return fail(id, flags, Rcode.NOTAUTH, `TSIG key ${tsig.keyText} is not known`, { qname, name, qtype, qclass, qnameEnd, questionEnd, edns, tsig });
  return {
    kind: 'ok',
    query: { id, flags, opcode, rd: (flags & 0x0100) !== 0, cd: (flags & 0x0010) !== 0, qname, name, qtype, qclass, qnameEnd, questionEnd, edns },
  };
}
