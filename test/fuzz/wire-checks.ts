/**
 * What must hold for any bytes at all fed to the wire layer:
 *  - parseQuery never throws and returns a well-formed verdict; the reply the
 *    server builds from it (protocol error, an answer echoing the question, or
 *    SERVFAIL) encodes without throwing and decodes as a response to it;
 *  - decodeMessage throws nothing but SkyError SKY_ERR_WIRE_FORMAT;
 *  - prepareWire throws nothing but RangeError, and what it returns can be patched.
 * `checkInput` returns one line per broken rule (empty: all held).
 */
import { decodeMessage } from '../../src/dns/decode.js';
import { parseQuery, type QueryVerdict } from '../../src/dns/query.js';
import { patchWire, prepareWire } from '../../src/dns/wire-answer.js';
import { isSkyError } from '../../src/errors.js';
import { QueryRequest } from '../../src/server/request.js';
import { finishReply, protocolError, servfail } from '../../src/server/respond.js';

export interface Failure {
  target: 'parseQuery' | 'reply' | 'decodeMessage' | 'prepareWire';
  error: string;
}

const UDP_MAX = 1232;
const REMOTE = { address: '127.0.0.1', port: 5353, family: 'IPv4' as const };

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}${(e as { code?: string }).code ? ` ${(e as { code?: string }).code}` : ''}: ${e.message}` : `non-error thrown: ${String(e)}`;
}

/** Problems with `reply` as the answer to `query` (decodes, QR=1, same ID, question echoed, rcode). */
export function replyProblems(query: Buffer, reply: Buffer, opts: { rcode?: number; maxSize?: number; questionEnd?: number } = {}): string[] {
  const p: string[] = [];
  if (opts.maxSize !== undefined && reply.length > opts.maxSize) p.push(`reply of ${reply.length} bytes over the client's ${opts.maxSize}`);
  let d;
  try {
    d = decodeMessage(reply);
  } catch (e) {
    return [...p, `reply does not decode: ${describe(e)}`];
  }
  if (!d.qr) p.push('reply has QR=0');
  if (query.length >= 2 && d.id !== query.readUInt16BE(0)) p.push(`reply ID ${d.id} is not the query's ${query.readUInt16BE(0)}`);
  if (opts.rcode !== undefined && d.rcode !== opts.rcode) p.push(`rcode ${d.rcode}, expected ${opts.rcode}`);
  // 9: NOTAUTH, the answer to a TSIG-signed query (src/dns/tsig.ts)
  if (![0, 1, 2, 3, 4, 5, 9, 16].includes(d.rcode)) p.push(`unexpected rcode ${d.rcode}`);
  if (opts.questionEnd !== undefined && !reply.subarray(12, opts.questionEnd).equals(query.subarray(12, opts.questionEnd))) p.push('question not echoed byte for byte');
  return p;
}

function verdictProblems(buf: Buffer, v: QueryVerdict): string[] {
  if (v.kind === 'drop') return buf.length < 12 || (buf[2]! & 0x80) !== 0 ? [] : [`dropped a query with a header: ${v.reason}`];
  if (v.kind === 'error') return [1, 4, 9, 16].includes(v.rcode) ? [] : [`protocol error with rcode ${v.rcode}`];
  const q = v.query;
  const p: string[] = [];
  if (!(q.qnameEnd > 12 && q.qnameEnd + 4 === q.questionEnd && q.questionEnd <= buf.length)) p.push(`question offsets ${q.qnameEnd}/${q.questionEnd} for ${buf.length} bytes`);
  if (q.qname.length === 0) p.push('empty qname');
  if (q.edns && q.edns.udpSize < 512) p.push(`EDNS size ${q.edns.udpSize} below 512`);
  return p;
}

function checkParse(buf: Buffer, out: Failure[]): void {
  let v: QueryVerdict;
  try {
    v = parseQuery(buf);
  } catch (e) {
    out.push({ target: 'parseQuery', error: `threw ${describe(e)}` });
    return;
  }
  for (const e of verdictProblems(buf, v)) out.push({ target: 'parseQuery', error: e });
  try {
    if (v.kind === 'error') {
      const w = protocolError(buf, v, UDP_MAX);
      const rcode = v.query.edns ? v.rcode : v.rcode & 0xf;
      for (const e of replyProblems(buf, w.wire, { rcode, questionEnd: v.query.questionEnd, maxSize: 512 })) out.push({ target: 'reply', error: `protocol error: ${e}` });
    } else if (v.kind === 'ok') {
      const q = v.query;
      const maxSize = q.edns ? Math.min(q.edns.udpSize, UDP_MAX) : 512;
      const req = new QueryRequest(q, buf, 'udp', REMOTE, maxSize, 0);
      const answer = finishReply(req, { msg: { rcode: 0, flags: { aa: true }, answers: [{ name: req.qname, type: 'A', ttl: 60, data: '192.0.2.1' }] } }, UDP_MAX)!;
      for (const e of replyProblems(buf, answer.wire, { rcode: 0, questionEnd: q.questionEnd, maxSize })) out.push({ target: 'reply', error: `answer: ${e}` });
      for (const e of replyProblems(buf, servfail(req, UDP_MAX).wire, { rcode: 2, questionEnd: q.questionEnd, maxSize })) out.push({ target: 'reply', error: `SERVFAIL: ${e}` });
    }
  } catch (e) {
    out.push({ target: 'reply', error: `threw ${describe(e)}` });
  }
}

function checkDecode(buf: Buffer, out: Failure[]): void {
  try {
    decodeMessage(buf);
  } catch (e) {
    if (!isSkyError(e, 'SKY_ERR_WIRE_FORMAT')) out.push({ target: 'decodeMessage', error: `threw ${describe(e)}` });
  }
}

function checkPrepare(buf: Buffer, out: Failure[]): void {
  try {
    const w = prepareWire(buf);
    if (w.qnameEnd > w.wire.length || w.ttlOffsets.some((o) => o + 4 > w.wire.length)) {
      out.push({ target: 'prepareWire', error: 'offsets past the end of the prepared wire' });
      return;
    }
    patchWire(w, 0xbeef, true, w.wire, w.qnameEnd, 7);
  } catch (e) {
    if (!(e instanceof RangeError)) out.push({ target: 'prepareWire', error: `threw ${describe(e)}` });
  }
}

/** Feeds `buf` to every wire-layer entry point; returns the rules it broke. */
export function checkInput(buf: Buffer): Failure[] {
  const out: Failure[] = [];
  checkParse(buf, out);
  checkDecode(buf, out);
  checkPrepare(buf, out);
  return out;
}
