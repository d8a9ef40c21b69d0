/**
 * What the cache keeps for one reply, and the rules that decide whether and
 * for how long a reply is kept.
 *
 * - Positive answers live for their smallest TTL, within [minTtl, maxTtl].
 * - Negative answers (NXDOMAIN, and NODATA: NOERROR with an empty answer
 *   section) live for min(SOA TTL, SOA MINIMUM) of the SOA in the authority
 *   section (RFC 2308 §5), within [minTtl, denialMaxTtl]; without an SOA
 *   they are not cached ("SHOULD NOT", RFC 2308 §5).
 * - SERVFAIL lives `servfailTtl` seconds (RFC 2308 §7.1: at most 5 minutes).
 * - Truncated replies, other rcodes (REFUSED, FORMERR, NOTIMP, ...) and
 *   dropped replies are never cached.
 * Record TTLs in the stored wire are lowered to the entry's lifetime, so a
 * client never sees a TTL outliving the entry it came from.
 */
import { encodeResponse, minTtl, prepareWire, Rcode, type WireAnswer } from '../../src/dns/index.js';
import type { DependsOn, Reply, Request } from '../../src/plugin.js';

export type EntryKind = 'positive' | 'denial' | 'servfail';

export interface Entry {
  w: WireAnswer;
  kind: EntryKind;
  /** When it was stored (ms, cache clock): TTLs count down from here. */
  storedAt: number;
  /** Seconds it is fresh. */
  ttl: number;
  depends: DependsOn | undefined;
  /** Hits within the prefetch window, and the time of the last one. */
  hits: number;
  lastHit: number;
  /** The background refresh in flight (prefetch or serve-stale), one per entry. */
  refreshing: Promise<RefreshOutcome> | null;
  /** When the last refresh failed (0: never): RFC 8767's failure recheck timer runs from here. */
  failedAt: number;
}

export interface RefreshOutcome {
  failed: boolean;
  reply?: Reply;
}

export interface TtlLimits {
  minTtl: number;
  maxTtl: number;
  denialMaxTtl: number;
  servfailTtl: number;
}

const SOA = 6;

/** The reply in wire form, for this request's question; null when dropped. */
function wireOf(req: Request, reply: Reply): Buffer | null {
  if ('drop' in reply) return null;
  if ('wire' in reply) return reply.wire;
  const h = { id: req.id, opcode: 0, rd: req.rd, cd: req.cd, questionRaw: req.raw.subarray(12, req.qnameEnd + 4) };
  return encodeResponse(h, reply.msg, 65535, null).wire;
}

/** min(SOA TTL, SOA MINIMUM) of the first SOA in the authority section (RFC 2308 §5), or undefined. */
export function negativeTtl(w: WireAnswer): number | undefined {
  const an = w.wire.readUInt16BE(6);
  const ns = w.wire.readUInt16BE(8);
  for (let i = an; i < an + ns; i++) {
    const o = w.ttlOffsets[i]!;
    if (w.wire.readUInt16BE(o - 4) !== SOA) continue;
    const rdEnd = o + 6 + w.wire.readUInt16BE(o + 4);
    return Math.min(w.wire.readUInt32BE(o), w.wire.readUInt32BE(rdEnd - 4));
  }
  return undefined;
}

/** An entry for `reply`, or null when it must not be cached. */
export function makeEntry(req: Request, reply: Reply, now: number, lim: TtlLimits): Entry | null {
  let w: WireAnswer;
  try {
    const wire = wireOf(req, reply);
    if (!wire) return null;
    w = prepareWire(wire);
  } catch {
    return null;
  }
  if (w.truncated) return null;
  let kind: EntryKind;
  let ttl: number;
  const answers = w.wire.readUInt16BE(6);
  if (w.rcode === Rcode.SERVFAIL) {
    kind = 'servfail';
    ttl = lim.servfailTtl;
  } else if (w.rcode === Rcode.NOERROR && answers > 0) {
    kind = 'positive';
    ttl = Math.min(Math.max(minTtl(w) ?? 0, lim.minTtl), lim.maxTtl);
  } else if (w.rcode === Rcode.NXDOMAIN || w.rcode === Rcode.NOERROR) {
    const neg = negativeTtl(w);
    if (neg === undefined) return null;
    kind = 'denial';
    ttl = Math.min(Math.max(Math.min(neg, minTtl(w)!), lim.minTtl), lim.denialMaxTtl);
  } else {
    return null;
  }
  if (ttl <= 0) return null;
  for (const o of w.ttlOffsets) if (w.wire.readUInt32BE(o) > ttl) w.wire.writeUInt32BE(ttl, o);
  const depends = 'drop' in reply ? undefined : reply.depends;
  return { w, kind, storedAt: now, ttl, depends, hits: 0, lastHit: now, refreshing: null, failedAt: 0 };
}

/** Whether a reply from the rest of the chain counts as a failure (for serve-stale and refreshes). */
export function isFailure(reply: Reply): boolean {
  if ('drop' in reply) return true;
  const rcode = 'wire' in reply ? reply.wire[3]! & 0x0f : reply.msg.rcode;
  return rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED;
}
