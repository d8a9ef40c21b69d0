/**
 * TSIG (RFC 8945) in queries: the record is read only to answer it. No key is
 * configured, so every key is unknown to this server, and a signed query gets
 * what §5.2.2 prescribes (and BIND sends): RCODE NOTAUTH and a TSIG record
 * with error BADKEY, unsigned (§5.3.2: MAC size 0, empty MAC), echoing the
 * key name, algorithm, time signed, fudge and original ID of the request.
 * A TSIG anywhere but last in the additional section, a second one, or one
 * that cannot be read is FORMERR (§5.1, §5.2).
 */
import { MAX_NAME } from './names.js';

export const TSIG_TYPE = 250;
/** RFC 8945 §3 / IANA: the TSIG error for an unknown key. */
export const TSIG_BADKEY = 17;
const CLASS_ANY = 255;

/** What a BADKEY reply echoes from the request's TSIG record. */
export interface TsigQuery {
  /** The key name, uncompressed wire form. */
  keyName: Buffer;
  /** The algorithm name, uncompressed wire form. */
  algorithm: Buffer;
  /** Key name in presentation form, for logs. */
  keyText: string;
  /** The 48-bit time signed, as sent. */
  timeSigned: Buffer;
  fudge: number;
  originalId: number;
}

/** A (possibly compressed) name at `off` in uncompressed wire form, and the offset after it; null when malformed. */
function readName(buf: Buffer, off: number): { wire: Buffer; text: string; end: number } | null {
  const parts: Buffer[] = [];
  const labels: string[] = [];
  let size = 1;
  let end = -1;
  for (let hops = 0; hops < 128; hops++) {
    if (off >= buf.length) return null;
    const len = buf[off]!;
    if (len === 0) {
      if (end < 0) end = off + 1;
      parts.push(Buffer.from([0]));
      return { wire: Buffer.concat(parts), text: labels.length ? labels.join('.') : '.', end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > buf.length) return null;
      if (end < 0) end = off + 2;
      off = buf.readUInt16BE(off) & 0x3fff;
      continue;
    }
    if ((len & 0xc0) !== 0 || off + 1 + len > buf.length) return null;
    size += len + 1;
    if (size > MAX_NAME) return null;
    parts.push(buf.subarray(off, off + 1 + len));
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return null;
}

/**
 * The TSIG record whose owner name starts at `nameStart` and whose type field
 * is at `typeAt`; a string saying what is wrong when it cannot be read.
 */
export function readTsig(buf: Buffer, nameStart: number, typeAt: number): TsigQuery | string {
  const owner = readName(buf, nameStart);
  if (!owner) return 'TSIG key name is malformed';
  const rdlen = buf.readUInt16BE(typeAt + 8);
  const start = typeAt + 10;
  const end = start + rdlen;
  const alg = readName(buf, start);
  if (!alg || alg.end > end) return 'TSIG algorithm name is malformed';
  let o = alg.end;
  if (o + 10 > end) return 'TSIG record is too short';
  const timeSigned = Buffer.from(buf.subarray(o, o + 6));
  const fudge = buf.readUInt16BE(o + 6);
  const macSize = buf.readUInt16BE(o + 8);
  o += 10 + macSize;
  if (o + 6 > end) return 'TSIG MAC runs past the record';
  const originalId = buf.readUInt16BE(o);
  const otherLen = buf.readUInt16BE(o + 4);
  if (o + 6 + otherLen !== end) return 'TSIG other data does not fill the record';
  return { keyName: owner.wire, algorithm: alg.wire, keyText: owner.text, timeSigned, fudge, originalId };
}

/** The unsigned TSIG record of a BADKEY reply (§5.2.2, §5.3.2), wire form, to go last in the additional section. */
export function badKeyRecord(t: TsigQuery): Buffer {
  const rdata = Buffer.alloc(t.algorithm.length + 16);
  let o = t.algorithm.copy(rdata, 0);
  o += t.timeSigned.copy(rdata, o);
  rdata.writeUInt16BE(t.fudge, o);
  rdata.writeUInt16BE(0, o + 2); // MAC size: unsigned
  rdata.writeUInt16BE(t.originalId, o + 4);
  rdata.writeUInt16BE(TSIG_BADKEY, o + 6);
  rdata.writeUInt16BE(0, o + 8); // other len
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TSIG_TYPE, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2);
  fixed.writeUInt32BE(0, 4); // TTL 0
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([t.keyName, fixed, rdata]);
}

/** `reply` (an encoded message) with `record` appended to its additional section. */
export function appendAdditional(reply: Buffer, record: Buffer): Buffer {
  const out = Buffer.concat([reply, record]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}
