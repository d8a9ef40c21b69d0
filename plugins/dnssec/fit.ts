/**
 * Encodes a signed reply for one client, fitted to its size, so that no
 * RRset ever goes out without its RRSIGs. The encoder truncates by dropping
 * records whole from the end (RFC 2181 §9): a cut in the answer or authority
 * section sets TC and the client retries over TCP, but a cut in the
 * additional section is silent (no TC) and could leave an RRset there with
 * only some, or none, of its signatures. Here such a cut is moved back to the
 * start of that RRset: the additional section holds whole signed sets only.
 * The wire has no OPT record; the server appends the client's (room is kept).
 */
import { encodeResponse, type EncodeHeader } from '../../src/dns/encode.js';
import { OPT_ROOM } from '../../src/dns/wire-answer.js';
import { asciiLower } from '../../src/dns/names.js';
import type { Message, RR } from '../../src/dns/types.js';
import type { Request } from '../../src/plugin.js';

function header(req: Request): EncodeHeader {
  return { id: req.id, opcode: (req.raw[2]! >> 3) & 0xf, rd: req.rd, cd: req.cd, questionRaw: req.raw.subarray(12, req.qnameEnd + 4) };
}

/** Indexes where an RRset (its records, then its RRSIGs) starts in a signed section. */
export function setStarts(rrs: readonly RR[]): number[] {
  const starts: number[] = [];
  let prev = '';
  rrs.forEach((rr, i) => {
    if (rr.type === 'RRSIG') return;
    const k = `${asciiLower(rr.name)}\0${rr.type}`;
    if (k !== prev) starts.push(i);
    prev = k;
  });
  return starts;
}

export function encodeSigned(req: Request, msg: Message): Buffer {
  const h = header(req);
  const limit = req.maxSize - (req.edns ? OPT_ROOM : 0);
  const { wire } = encodeResponse(h, msg, limit, null);
  const extra = msg.additionals ?? [];
  const written = wire.readUInt16BE(10);
  if (written >= extra.length) return wire;
  // Cut back to the last whole set that fitted.
  let cut = 0;
  for (const s of setStarts(extra)) if (s <= written) cut = s;
  if (cut === written) return wire;
  return encodeResponse(h, { ...msg, additionals: extra.slice(0, cut) }, limit, null).wire;
}
