/**
 * Pre-encoded answers of the zone, the hot path of DESIGN.md's performance
 * model: a hit is one map lookup, a copy and a few patches (ID, RD, CD, the
 * client's 0x20 spelling of the question, aged TTLs) with no encode at all.
 *
 * Entries are keyed by the lowercased name and the query type (plus the
 * transport for ANY, whose answer differs between UDP and TCP). The DO bit is
 * not part of the key: the zone is unsigned, so the answer does not depend on
 * it, and the server adds the OPT record each client needs. The whole map is
 * dropped when the registry's version moves; an entry also lapses at its own
 * `until` (see Lifetime). The map is bounded (`wireCache`: a number, or
 * "auto" to follow the registry's size); when full, an entry drawn at random
 * goes, with a second chance for entries read since (src/dns/answer-map.ts),
 * so a cyclic scan over more names than it holds still hits.
 */
import { AnswerMap } from '../../src/dns/answer-map.js';
import { encodeResponse, patchWire, prepareWire, type Message, type WireAnswer } from '../../src/dns/index.js';
import type { Request } from '../../src/plugin.js';
import { answerCapacity } from '../../src/registry/generation.js';
import type { Registry } from '../../src/registry/types.js';

export interface WireEntry {
  kind: 'wire';
  wire: WireAnswer;
  builtAt: number;
  aging: boolean;
  until: number;
}

/** The name exists and its A/AAAA/CNAME are answered further down the chain. */
export interface DelegateEntry {
  kind: 'delegate';
  until: number;
}

export type Entry = WireEntry | DelegateEntry;

const MAX_MESSAGE = 65535;

/** The smallest size `wireCache: "auto"` gives the map. */
export const AUTO_MIN = 4096;

/**
 * `wireCache: "auto"`: max(AUTO_MIN, 2 × the registry's distinct service
 * names) (src/registry/generation.ts answerCapacity), recounted at most once
 * per answers generation and only when the map is full. Room for every name's SRV and A entry, so a sweep over all
 * of them does not evict, while the count stays tied to what is registered
 * (names that do not exist are few: their answers share the zone's SOA).
 */
export function autoCapacity(registry: Registry): () => number {
  return answerCapacity(registry, AUTO_MIN);
}

export class WireCache {
  private readonly map: AnswerMap<Entry>;
  private version = NaN;

  /** `capacity`: entries kept, or a function asked for it when the map is full. */
  constructor(capacity: number | (() => number), random?: () => number) {
    this.map = new AnswerMap<Entry>(capacity, random);
  }

  get size(): number {
    return this.map.size;
  }

  static key(req: Request): string {
    return req.qtype === 255 ? `${req.qtype}/${req.transport}/${req.name}` : `${req.qtype}/${req.name}`;
  }

  /** Drops every entry when the registry has changed since they were built. */
  sync(version: number): void {
    if (version === this.version) return;
    this.map.clear();
    this.version = version;
  }

  get(key: string, now: number): Entry | undefined {
    const e = this.map.get(key);
    if (e && now >= e.until) {
      this.map.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, e: Entry): void {
    this.map.set(key, e);
  }
}

/** Encodes `msg` as the answer to `req`'s question, ready for `serveWire`. */
export function encodeEntry(req: Request, msg: Message, builtAt: number, aging: boolean, until: number): WireEntry {
  const { wire } = encodeResponse(
    { id: 0, opcode: 0, rd: false, cd: false, questionRaw: req.raw.subarray(12, req.qnameEnd + 4) },
    msg,
    MAX_MESSAGE,
    null,
  );
  const w = prepareWire(wire);
  // Small Buffers are slices of Node's shared 8 KB pool: a kept answer would
  // pin its whole slab (with the replies allocated around it) for as long as
  // it stays in the map. Kept answers get memory of their own.
  const own = Buffer.allocUnsafeSlow(w.wire.length);
  w.wire.copy(own);
  w.wire = own;
  return { kind: 'wire', wire: w, builtAt, aging, until };
}

/** A copy of the entry for this client; null when its question cannot be patched in. */
export function serveWire(e: WireEntry, req: Request, now: number): Buffer | null {
  const age = e.aging ? Math.floor((now - e.builtAt) / 1000) : 0;
  const out = patchWire(e.wire, req.id, req.rd, req.raw, req.qnameEnd, age);
  if (!out) return null;
  out[3] = req.cd ? out[3]! | 0x10 : out[3]! & ~0x10;
  return out;
}
