/**
 * Pre-encoded answers: the hot path of the cache and of the zone plugins.
 * A reply is encoded once (header + question + records, no OPT) and kept with
 * the offsets of every TTL field. Serving it again is a copy plus patches:
 * the ID, the RD bit, the question name's case (copied from the client's
 * bytes, same length since the cache key is the lowercased name) and the TTLs.
 */

/** Bytes of the OPT record the server appends to a reply when the query had one (RFC 6891). */
export const OPT_ROOM = 11;

/**
 * The most recent buffers `allocReply` made (views, and the buffers with the
 * spare bytes behind them), newest at `ringAt - 1`. A reply made for a query
 * answered later (forward: many replies resolve in one microtask checkpoint
 * before the server finishes any of them) is still found here.
 */
const RING = 64;
const ringViews: (Buffer | null)[] = new Array<Buffer | null>(RING).fill(null);
const ringFulls: (Buffer | null)[] = new Array<Buffer | null>(RING).fill(null);
let ringAt = 0;

/**
 * A buffer of `len` bytes for a reply, with `OPT_ROOM` bytes of its own behind
 * it, so the server can append the OPT record without a second allocation and
 * copy (see `takeOptRoom`).
 */
export function allocReply(len: number): Buffer {
  const full = Buffer.allocUnsafe(len + OPT_ROOM);
  const view = full.subarray(0, len);
  const i = ringAt++ & (RING - 1);
  ringViews[i] = view;
  ringFulls[i] = full;
  return view;
}

/**
 * `wire` with its `OPT_ROOM` spare bytes, when it is one of the last RING
 * buffers `allocReply` made (so the bytes behind it belong to it), once: the
 * entry is cleared, so the room is never handed out twice. Null otherwise.
 */
export function takeOptRoom(wire: Buffer): Buffer | null {
  for (let n = 1; n <= RING; n++) {
    const i = (ringAt - n) & (RING - 1);
    if (ringViews[i] === wire) {
      const full = ringFulls[i]!;
      ringViews[i] = ringFulls[i] = null;
      return full;
    }
  }
  return null;
}

export interface WireAnswer {
  /** Header + question + records, without an OPT record. */
  wire: Buffer;
  /** Offsets of the 32-bit TTL field of every record. */
  ttlOffsets: number[];
  /** End of the question name (it spans 12..qnameEnd). */
  qnameEnd: number;
  rcode: number;
  /** Whether the TC bit is set. */
  truncated: boolean;
}

/** The offset after the (possibly compressed) name at `off`; throws RangeError when it runs past the end. */
export function skipName(buf: Buffer, off: number): number {
  for (;;) {
    if (off >= buf.length) throw new RangeError('name runs past the end');
    const len = buf[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += len + 1;
  }
}

export interface RecordScan {
  /** Offset just past the last record. */
  end: number;
  /** Byte range of the OPT record; -1 when there is none. */
  optStart: number;
  optEnd: number;
}

/**
 * Walks the answer, authority and additional records of `buf` from `off`
 * (just past the question): where they end, and where the OPT record is
 * (RFC 6891 allows it anywhere in the additional section, once). With
 * `ttlOffsets`, pushes the offset of every other record's TTL, relative to
 * the bytes without the OPT (cutting it shifts what follows). Throws
 * RangeError on a malformed buffer.
 */
export function scanRecords(buf: Buffer, off: number, ttlOffsets?: number[]): RecordScan {
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const total = an + ns + buf.readUInt16BE(10);
  let optStart = -1;
  let optEnd = -1;
  for (let i = 0; i < total; i++) {
    const start = off;
    off = skipName(buf, off);
    if (off + 10 > buf.length) throw new RangeError('record runs past the end');
    const next = off + 10 + buf.readUInt16BE(off + 8);
    if (next > buf.length) throw new RangeError('record data runs past the end');
    if (buf.readUInt16BE(off) === 41) {
      if (i < an + ns || optStart >= 0) throw new RangeError('OPT outside the additional section, or twice');
      optStart = start;
      optEnd = next;
    } else if (ttlOffsets) {
      ttlOffsets.push(off + 4 - (optStart >= 0 ? optEnd - optStart : 0));
    }
    off = next;
  }
  return { end: off, optStart, optEnd };
}

/**
 * The first `scan.end` bytes of `buf` without its OPT record (ARCOUNT one
 * less), in a buffer from `alloc`: what scanRecords found, cut once.
 */
export function withoutOpt(buf: Buffer, scan: RecordScan, alloc: (len: number) => Buffer): Buffer {
  const { end, optStart, optEnd } = scan;
  if (optStart < 0) {
    const out = alloc(end);
    buf.copy(out, 0, 0, end);
    return out;
  }
  const out = alloc(end - (optEnd - optStart));
  buf.copy(out, 0, 0, optStart);
  buf.copy(out, optStart, optEnd, end);
  out.writeUInt16BE(buf.readUInt16BE(10) - 1, 10);
  return out;
}

/**
 * Indexes an encoded reply. Any OPT record is cut off (with ARCOUNT fixed) so
 * the server can add the one that fits each client. Throws RangeError on a malformed buffer.
 */
export function prepareWire(buf: Buffer): WireAnswer {
  if (buf.length < 12) throw new RangeError('reply shorter than a header');
  const qd = buf.readUInt16BE(4);
  let off = 12;
  let qnameEnd = 12;
  for (let i = 0; i < qd; i++) {
    off = skipName(buf, off);
    if (i === 0) qnameEnd = off;
    off += 4;
    if (off > buf.length) throw new RangeError('question runs past the end');
  }
  const ttlOffsets: number[] = [];
  const wire = withoutOpt(buf, scanRecords(buf, off, ttlOffsets), (len) => Buffer.allocUnsafe(len));
  const flags = wire.readUInt16BE(2);
  return { wire, ttlOffsets, qnameEnd, rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0 };
}

/**
 * A fresh copy of `w` for one client: its ID, RD bit and question spelling,
 * and every TTL lowered by `age` seconds (never below 0). Returns null when
 * the client's question does not have the cached name's length.
 */
export function patchWire(w: WireAnswer, id: number, rd: boolean, clientRaw: Buffer, clientQnameEnd: number, age: number): Buffer | null {
  if (clientQnameEnd !== w.qnameEnd) return null;
  const out = allocReply(w.wire.length);
  w.wire.copy(out);
  out[0] = id >>> 8;
  out[1] = id & 0xff;
  out[2] = rd ? out[2]! | 0x01 : out[2]! & 0xfe;
  // The question name, byte by byte: a name is short, and Buffer#copy of a
  // range makes a view object first.
  for (let i = 12; i < clientQnameEnd; i++) out[i] = clientRaw[i]!;
  if (age > 0) {
    // Offsets come from prepareWire's scan of this very wire: in range.
    const offs = w.ttlOffsets;
    for (let k = 0; k < offs.length; k++) {
      const o = offs[k]!;
      const t = ((out[o]! << 24) | (out[o + 1]! << 16) | (out[o + 2]! << 8) | out[o + 3]!) >>> 0;
      const v = t > age ? t - age : 0;
      out[o] = v >>> 24;
      out[o + 1] = (v >>> 16) & 0xff;
      out[o + 2] = (v >>> 8) & 0xff;
      out[o + 3] = v & 0xff;
    }
  }
  return out;
}

/** The smallest TTL in the reply (for cache lifetimes); undefined when it has no records. */
export function minTtl(w: WireAnswer): number | undefined {
  let m: number | undefined;
  for (const o of w.ttlOffsets) {
    const t = w.wire.readUInt32BE(o);
    if (m === undefined || t < m) m = t;
  }
  return m;
}
