/**
 * Turns a chain's `Reply` (or a protocol error) into the bytes for one client:
 * encode with compression, fit to the client's size (TC on UDP), and add an
 * OPT record only when the query had one (RFC 6891 §7).
 */
import { decodeMessage } from '../dns/decode.js';
import { encodeResponse, type EncodeHeader, type OptOut } from '../dns/encode.js';
import { appendAdditional, badKeyRecord } from '../dns/tsig.js';
import { takeOptRoom } from '../dns/wire-answer.js';
import type { QueryVerdict } from '../dns/query.js';
import { Rcode, type Message } from '../dns/types.js';
import type { Reply } from '../plugin.js';
import type { QueryRequest } from './request.js';

export interface Written {
  wire: Buffer;
  rcode: number;
  truncated: boolean;
}

function header(req: QueryRequest): EncodeHeader {
  return { id: req.id, opcode: req.opcode, rd: req.rd, cd: req.cd, questionRaw: req.raw.subarray(12, req.questionEnd) };
}

function optFor(req: QueryRequest, rcode: number, ourUdpSize: number): OptOut | null {
  return req.edns ? { udpSize: ourUdpSize, rcode, do: req.do } : null;
}

export function encodeMessageReply(req: QueryRequest, msg: Message, ourUdpSize: number): Written {
  const { wire, truncated } = encodeResponse(header(req), msg, req.maxSize, optFor(req, msg.rcode, ourUdpSize));
  return { wire, rcode: msg.rcode, truncated: truncated || !!msg.flags?.tc };
}

/**
 * A wire reply from a plugin (cache, zone index). The fast path appends the
 * OPT record; a reply too big for this client is decoded and re-encoded with
 * truncation (rare: only when a UDP client's size is smaller than the answer).
 */
export function finishWireReply(req: QueryRequest, wire: Buffer, ourUdpSize: number): Written {
  const rcode = wire[3]! & 0xf;
  const truncated = (wire[2]! & 0x02) !== 0;
  const optLen = req.edns ? 11 : 0;
  if (wire.length + optLen <= req.maxSize) {
    if (!req.edns) return { wire, rcode, truncated };
    // A reply from allocReply has the 11 bytes behind it already: no second buffer, no copy.
    let out = takeOptRoom(wire);
    if (!out) {
      out = Buffer.allocUnsafe(wire.length + 11);
      wire.copy(out);
    }
    let o = wire.length;
    out[o] = 0;
    out.writeUInt16BE(41, o + 1);
    out.writeUInt16BE(ourUdpSize, o + 3);
    out.writeUInt32BE(req.do ? 0x8000 : 0, o + 5); // ext rcode 0, version 0, DO
    out.writeUInt16BE(0, o + 9);
    o += 11;
    out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
    return { wire: out, rcode, truncated };
  }
  const d = decodeMessage(wire);
  return encodeMessageReply(req, { rcode: d.rcode, flags: d.flags, answers: d.answers, authorities: d.authorities, additionals: d.additionals }, ourUdpSize);
}

export function finishReply(req: QueryRequest, reply: Reply, ourUdpSize: number): Written | null {
  if ('drop' in reply) return null;
  if ('wire' in reply) return finishWireReply(req, reply.wire, ourUdpSize);
  return encodeMessageReply(req, reply.msg, ourUdpSize);
}

/**
 * The reply to a query the parser refused (FORMERR, NOTIMP, BADVERS), or a
 * TSIG-signed one (NOTAUTH, with the unsigned BADKEY TSIG record last in the
 * additional section: RFC 8945 §5.2.2).
 */
export function protocolError(raw: Buffer, v: Extract<QueryVerdict, { kind: 'error' }>, ourUdpSize: number): Written {
  const q = v.query;
  const h: EncodeHeader = { id: q.id, opcode: q.opcode, rd: (q.flags & 0x0100) !== 0, cd: (q.flags & 0x0010) !== 0 };
  if (q.questionEnd !== undefined) h.questionRaw = raw.subarray(12, q.questionEnd);
  const opt: OptOut | null = q.edns ? { udpSize: ourUdpSize, rcode: v.rcode, do: q.edns.do } : null;
  // Without an OPT record the extended BADVERS cannot be expressed; it only arises with one.
  const { wire } = encodeResponse(h, { rcode: v.rcode }, 512, opt);
  if (q.tsig) {
    // Within 512 bytes like every protocol error; only a pathological key and
    // algorithm name (hundreds of bytes) leave no room, and then the bare NOTAUTH goes.
    const tsig = badKeyRecord(q.tsig);
    if (wire.length + tsig.length <= 512) return { wire: appendAdditional(wire, tsig), rcode: v.rcode, truncated: false };
  }
  return { wire, rcode: v.rcode, truncated: false };
}

export function servfail(req: QueryRequest, ourUdpSize: number): Written {
  return encodeMessageReply(req, { rcode: Rcode.SERVFAIL }, ourUdpSize);
}
