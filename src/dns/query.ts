/**
 * The hot-path parser: header, the one question and the OPT record of a query,
 * without decoding anything else. It never throws: every malformed input maps
 * to a verdict (drop, FORMERR, NOTIMP, BADVERS) the server can answer with.
 */
import { labelToText, MAX_LABEL, MAX_NAME } from './names.js';
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
  /** Answer with `rcode`; `query` has what could be parsed (id, flags, maybe the question). */
  | { kind: 'error'; rcode: number; reason: string; query: Partial<ParsedQuery> & { id: number; flags: number; opcode: number } };

const QR = 0x8000;

/** Bytes that need no escaping in presentation form (letters, digits, '-', '_', and the like). */
const PLAIN = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) PLAIN[c] = 1;
for (const c of [0x2e, 0x5c, 0x22, 0x28, 0x29, 0x3b, 0x40, 0x24]) PLAIN[c] = 0;

const scratch = Buffer.alloc(256);

/**
 * The question name (starting at offset 12, already validated) as presentation
 * text. The common case, labels of plain characters, is one copy and one
 * string: label length bytes become dots.
 */
function nameText(buf: Buffer, end: number, plain: boolean): string {
  if (end === 13) return '.';
  if (!plain) {
    const parts: string[] = [];
    for (let o = 12; buf[o] !== 0; o += buf[o]! + 1) parts.push(labelToText(buf, o + 1, o + 1 + buf[o]!));
    return parts.join('.');
  }
  const n = end - 14; // without the first length byte and the root
  buf.copy(scratch, 0, 13, 13 + n);
  for (let o = 12 + buf[12]! + 1; o < end - 1; o += buf[o]! + 1) scratch[o - 13] = 0x2e;
  return scratch.toString('latin1', 0, n);
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
  const base = { id, flags, opcode, rd: (flags & 0x0100) !== 0, cd: (flags & 0x0010) !== 0 };
  const fail = (rcode: number, reason: string, extra: Partial<ParsedQuery> = {}): QueryVerdict =>
    ({ kind: 'error', rcode, reason, query: { ...base, ...extra } });

  if (qdcount !== 1) {
    return opcode !== 0 ? fail(Rcode.NOTIMP, `opcode ${opcode}`) : fail(Rcode.FORMERR, `QDCOUNT is ${qdcount}, not 1`);
  }

  // The question name: plain labels only (a pointer in the first name can only point backwards into the header).
  let off = 12;
  let wireLen = 1;
  // Validate the labels first; the text is built in one go afterwards.
  let plain = true;
  for (;;) {
    if (off >= buf.length) return fail(Rcode.FORMERR, 'question name runs past the end');
    const len = buf[off]!;
    if (len === 0) { off += 1; break; }
    if ((len & 0xc0) !== 0) return fail(Rcode.FORMERR, 'compressed or extended label in the question');
    if (len > MAX_LABEL) return fail(Rcode.FORMERR, 'label over 63 bytes');
    if (off + 1 + len > buf.length) return fail(Rcode.FORMERR, 'question label runs past the end');
    wireLen += len + 1;
    if (wireLen > MAX_NAME) return fail(Rcode.FORMERR, 'question name over 255 bytes');
    if (plain) for (let i = off + 1; i <= off + len; i++) if (!PLAIN[buf[i]!]) { plain = false; break; }
    off += 1 + len;
  }
  const qnameEnd = off;
  if (off + 4 > buf.length) return fail(Rcode.FORMERR, 'question type/class missing');
  const qtype = buf.readUInt16BE(off);
  const qclass = buf.readUInt16BE(off + 2);
  off += 4;
  const question = { qname: nameText(buf, qnameEnd, plain), qtype, qclass, qnameEnd, questionEnd: off };
  if (opcode !== 0) return fail(Rcode.NOTIMP, `opcode ${opcode}`, question);

  // Skip answer and authority records (a query normally has none), then look for OPT.
  let edns: Edns | null = null;
  let extRcodeErr: QueryVerdict | null = null;
  const total = ancount + nscount + arcount;
  for (let i = 0; i < total; i++) {
    const nameStart = off;
    off = skipName(buf, off);
    if (off < 0 || off + 10 > buf.length) return fail(Rcode.FORMERR, 'record runs past the end', question);
    const type = buf.readUInt16BE(off);
    const rdlen = buf.readUInt16BE(off + 8);
    const end = off + 10 + rdlen;
    if (end > buf.length) return fail(Rcode.FORMERR, 'record data runs past the end', question);
    if (type === Type.OPT) {
      if (i < ancount + nscount) return fail(Rcode.FORMERR, 'OPT outside the additional section', question);
      if (edns) return fail(Rcode.FORMERR, 'more than one OPT record', question);
      if (buf[nameStart] !== 0) return fail(Rcode.FORMERR, 'OPT owner is not the root', question);
      // Options must tile the RDATA exactly.
      let o = off + 10;
      while (o < end) {
        if (o + 4 > end) return fail(Rcode.FORMERR, 'malformed EDNS option', question);
        o += 4 + buf.readUInt16BE(o + 2);
      }
      if (o !== end) return fail(Rcode.FORMERR, 'malformed EDNS option', question);
      const version = buf[off + 5]!;
      edns = { udpSize: Math.max(512, buf.readUInt16BE(off + 2)), version, do: (buf.readUInt16BE(off + 6) & 0x8000) !== 0 };
      if (version !== 0) extRcodeErr = fail(Rcode.BADVERS, `EDNS version ${version}`, { ...question, edns });
    }
    off = end;
  }
  if (extRcodeErr) return extRcodeErr;
  return { kind: 'ok', query: { ...base, ...question, edns } };
}
