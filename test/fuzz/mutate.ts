/**
 * Deterministic packet mutation for the fuzzers. `Mutator.next()` takes a
 * corpus packet and applies one to three mutations chosen from those that
 * break DNS parsers in practice: bit flips, truncation, compression-pointer
 * loops, labels over 63 bytes, names over 255 bytes, huge section counts, bad
 * OPT records, random opcodes and flags, splices and plain random bytes.
 * Everything comes from a seeded PRNG, so a failure reproduces from
 * (seed, index).
 */

/** mulberry32: small, fast, good enough to drive a fuzzer. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** 0 <= n < max */
  int(max: number): number {
    return max <= 0 ? 0 : this.u32() % max;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

const INTERESTING = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xfe, 0xff, 0x29, 0x0c];

/** Offset just past the question name starting at 12 (plain labels), or -1. */
function questionNameEnd(p: Buffer): number {
  let o = 12;
  while (o < p.length) {
    const l = p[o]!;
    if (l === 0) return o + 1;
    if (l & 0xc0) return -1;
    o += l + 1;
  }
  return -1;
}

function setCounts(p: Buffer, i: number, v: number): Buffer {
  if (p.length >= 12) p.writeUInt16BE(v & 0xffff, 4 + 2 * i);
  return p;
}

/** An OPT record, broken in one of the ways a parser must survive. */
function badOpt(r: Rng): Buffer {
  const optData = r.int(3) === 0 ? Buffer.from([0, r.int(12), 0xff, 0xff]) : r.bytes(r.int(12));
  const owner = r.int(4) === 0 ? Buffer.from([1, 0x61, 0]) : r.int(6) === 0 ? Buffer.from([0xc0, 0x0c]) : Buffer.from([0]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(41, 0);
  fixed.writeUInt16BE(r.pick([0, 1, 511, 512, 1232, 4096, 65535]), 2);
  fixed[4] = r.pick([0, 0, 1, 0xff]); // extended rcode
  fixed[5] = r.pick([0, 0, 0, 1, 0xff]); // version
  fixed.writeUInt16BE(r.pick([0, 0x8000, 0xffff]), 6);
  const rdlen = r.int(4) === 0 ? r.int(0x10000) : optData.length;
  fixed.writeUInt16BE(rdlen, 8);
  return Buffer.concat([owner, fixed, optData]);
}

type Mutation = (p: Buffer, r: Rng, corpus: readonly Buffer[]) => Buffer;

const MUTATIONS: Mutation[] = [
  // bit flips
  (p, r) => {
    const out = Buffer.from(p);
    for (let n = 1 + r.int(8); n > 0 && out.length; n--) out[r.int(out.length)]! ^= 1 << r.int(8);
    return out;
  },
  // interesting byte values
  (p, r) => {
    const out = Buffer.from(p);
    for (let n = 1 + r.int(4); n > 0 && out.length; n--) out[r.int(out.length)] = r.pick(INTERESTING);
    return out;
  },
  // truncation
  (p, r) => Buffer.from(p.subarray(0, r.int(p.length + 1))),
  // trailing garbage
  (p, r) => Buffer.concat([p, r.bytes(1 + r.int(64))]),
  // a compression pointer to itself or into a loop, in the question or a record
  (p, r) => {
    const out = Buffer.from(p);
    const end = questionNameEnd(out);
    if (end < 0 || r.int(2) === 0) {
      const at = Math.max(12, out.length);
      const loop = Buffer.from([0xc0 | (at >> 8), at & 0xff, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
      return setCounts(Buffer.concat([out, loop]), 1 + r.int(3), 1 + r.int(3));
    }
    const at = 12 + r.int(Math.max(1, end - 13));
    const target = r.pick([at, 12, at + 2, end]);
    out[at] = 0xc0 | ((target >> 8) & 0x3f);
    if (at + 1 < out.length) out[at + 1] = target & 0xff;
    return out;
  },
  // a label length over 63 (or an extended-label prefix)
  (p, r) => {
    const out = Buffer.from(p);
    if (out.length > 12) out[12] = r.pick([64, 65, 0x7f, 0x80, 0xbf, 63]);
    return out;
  },
  // a question name over 255 bytes
  (p, r) => {
    const end = questionNameEnd(p);
    if (end < 0) return p;
    const labels: Buffer[] = [];
    for (let total = 0; total < 256 + r.int(300);) {
      const n = 1 + r.int(63);
      labels.push(Buffer.concat([Buffer.from([n]), Buffer.alloc(n, 0x61 + r.int(26))]));
      total += n + 1;
    }
    return Buffer.concat([p.subarray(0, 12), ...labels, Buffer.from([0]), p.subarray(end)]);
  },
  // huge or zero section counts
  (p, r) => setCounts(Buffer.from(p), r.int(4), r.pick([0, 2, 0x7fff, 0xffff, r.int(0x10000)])),
  // bad OPT records, one or two, in any section
  (p, r) => {
    const n = 1 + r.int(2);
    const recs = Array.from({ length: n }, () => badOpt(r));
    const out = Buffer.concat([p, ...recs]);
    const section = r.int(4) === 0 ? 1 : 3;
    if (out.length >= 12) out.writeUInt16BE((out.readUInt16BE(4 + 2 * section) + n) & 0xffff, 4 + 2 * section);
    return out;
  },
  // random opcode, flags, Z and rcode bits
  (p, r) => {
    const out = Buffer.from(p);
    if (out.length >= 4) out.writeUInt16BE(r.int(2) ? r.int(0x10000) : (out.readUInt16BE(2) & 0x87ff) | (r.int(16) << 11), 2);
    return out;
  },
  // splice two corpus packets
  (p, r, corpus) => {
    const q = r.pick(corpus);
    return Buffer.concat([p.subarray(0, r.int(p.length + 1)), q.subarray(r.int(q.length + 1))]);
  },
  // duplicate a chunk in place
  (p, r) => {
    if (p.length < 2) return p;
    const a = r.int(p.length);
    const b = a + 1 + r.int(Math.min(32, p.length - a));
    return Buffer.concat([p.subarray(0, b), p.subarray(a, b), p.subarray(b)]);
  },
  // random bytes with a header that often parses
  (_p, r) => {
    const out = r.bytes(r.int(600));
    if (out.length >= 12 && r.int(2)) {
      out[2] = out[2]! & 0x7f;
      out.writeUInt16BE(1, 4);
    }
    return out;
  },
];

export class Mutator {
  private readonly rng: Rng;
  constructor(readonly corpus: readonly Buffer[], seed: number) {
    this.rng = new Rng(seed);
  }
  /** The next input: a corpus packet unchanged (1 in 16) or mutated one to three times. */
  next(): Buffer {
    const r = this.rng;
    let p: Buffer = Buffer.from(r.pick(this.corpus));
    if (r.int(16) === 0) return p;
    for (let n = 1 + r.int(3); n > 0; n--) p = r.pick(MUTATIONS)(p, r, this.corpus);
    return p;
  }
}
