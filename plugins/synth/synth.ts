/**
 * The synth handler: A and AAAA for the service names of a zone, built from
 * the instances registered by address (see select.ts for which), and the
 * negative answers of A, AAAA and CNAME there (never a CNAME: see select.ts).
 * Names outside the zone, other classes and other types go to the next plugin.
 *
 * A name with nothing at or below it is NXDOMAIN; a name that exists without
 * addresses of the type (the apex, an empty non-terminal such as
 * `_tcp.<environment>`, see src/registry/zone-names.ts) is NODATA; both AA=1
 * and without an SOA: skydns, in front of synth for the same zone, adds its
 * SOA to them. With `fallthrough` those go to the next
 * plugin instead (for a chain where synth comes before skydns).
 *
 * Rotation: each query of a name starts its address list one further along
 * (round robin), so clients that take the first address spread over the
 * instances. What is kept between queries is the selection (per name and type,
 * until the registry changes or one of its instances expires) and, for
 * addresses, the records pre-encoded (src/dns/address-answer.ts): a reply is
 * a header, the client's question and the records copied from this query's
 * starting one, with the one TTL of the set (the instances' earliest expiry,
 * kept with the selection, so O(1) per query). A reply that does not fit the
 * client is a message, for the server to truncate; negative answers are
 * messages too.
 *
 * The memo holds `memo` selections ("auto": max(4096, 2 × the registry's
 * service names)), evicting at random with a second chance (src/dns/answer-map.ts).
 */
import type { Clock } from '../../src/clock.js';
import { addressAnswer, addressAnswerLength, encodeAddressRecords, type AddressRecords } from '../../src/dns/address-answer.js';
import { AnswerMap } from '../../src/dns/answer-map.js';
import { isSubdomain } from '../../src/dns/names.js';
import { Rcode, Type, type RR } from '../../src/dns/types.js';
import type { DependsOn, Next, Plugin, Reply, Request } from '../../src/plugin.js';
import { answerCapacity, answerGeneration, type AnswerGeneration } from '../../src/registry/generation.js';
import { registryVouches, type FieldName, type Registry, type StoredService } from '../../src/registry/types.js';
import { selectName } from '../../src/registry/zone-names.js';
import { pickRanked, type Pick } from './select.js';

export interface SynthOptions {
  zone: string;
  order: FieldName[];
  minTtl: number;
  maxTtl: number;
  fallthrough: boolean;
  /** Selections kept: a number (0: none) or "auto". */
  memo: number | 'auto';
}

/** An address answer: the records encoded once, and what its TTL is computed from. */
interface Addresses {
  wire: AddressRecords;
  /** Smallest TTL of the instances that never expire (Infinity when none). */
  fixedTtl: number;
  /** Earliest expiry of the others (Infinity when none). */
  expiresAt: number;
}

type AddressPick = Extract<Pick, { kind: 'addresses' }>;
type Memo = ({ kind: 'nxdomain' } | Exclude<Pick, AddressPick> | (AddressPick & { addresses: Addresses })) & { until: number; turn: number };

/** The smallest memo `"auto"` gives. */
export const MEMO_AUTO_MIN = 4096;

/** Bytes of the OPT record the server appends when the query had one. */
const OPT_SIZE = 11;

/** One TTL for an RRset: the smallest remaining lifetime of its instances, clamped (RFC 2181 §5.2). */
export function rrsetTtl(services: readonly StoredService[], now: number, min: number, max: number): number {
  let t = Infinity;
  for (const s of services) {
    t = Math.min(t, s.expiresAt === Infinity ? (s.TTL > 0 ? s.TTL : max) : Math.ceil((s.expiresAt - now) / 1000));
  }
  return Math.min(max, Math.max(min, t));
}

function firstExpiry(services: readonly StoredService[]): number {
  let t = Infinity;
  for (const s of services) if (s.expiresAt < t) t = s.expiresAt;
  return t;
}

/** The parts `rrsetTtl` takes its minimum over, split so the per-query part is one subtraction. */
function addressesOf(qtype: number, rrs: readonly { address: string; services: StoredService[] }[], max: number): Addresses {
  let fixedTtl = Infinity;
  let expiresAt = Infinity;
  for (const r of rrs) {
    for (const s of r.services) {
      if (s.expiresAt === Infinity) fixedTtl = Math.min(fixedTtl, s.TTL > 0 ? s.TTL : max);
      else expiresAt = Math.min(expiresAt, s.expiresAt);
    }
  }
  const wire = encodeAddressRecords(qtype === Type.A ? 1 : 28, rrs.map((r) => r.address));
  return { wire, fixedTtl, expiresAt };
}

export class SynthHandler implements Plugin {
  readonly memo: AnswerMap<Memo>;
  private version = NaN;
  private depends: DependsOn | undefined;
  /** Moves on registry changes other than heartbeats (src/registry/generation.ts). */
  private readonly generation: AnswerGeneration;
  readonly zone: string;

  constructor(private readonly opts: SynthOptions, readonly registry: Registry, private readonly clock: Clock, random?: () => number) {
    this.zone = opts.zone.toLowerCase().replace(/\.$/, '');
    this.generation = answerGeneration(registry);
    this.memo = new AnswerMap<Memo>(opts.memo === 'auto' ? autoCapacity(registry) : opts.memo, random);
  }

  ready(): boolean {
    return this.registry.ready();
  }

  /** Synchronous, except where `next` is asked (other names and types, fallthrough). */
  serveDNS(req: Request, next: Next): Reply | Promise<Reply> {
    const q = req.qtype;
    if (req.qclass !== 1 || (q !== Type.A && q !== Type.AAAA && q !== Type.CNAME) || !isSubdomain(req.name, this.zone)) return next();
    const now = this.clock.now();
    const version = this.generation.version;
    let depends = this.depends;
    if (version !== this.version || !depends) {
      this.memo.clear();
      this.version = version;
      depends = this.depends = { on: this.generation, version };
    }
    const key = `${q}/${req.name}`;
    let m = this.memo.get(key);
    if (!m || now >= m.until) {
      m = this.build(req.name, q);
      this.memo.set(key, m);
    }
    const aa = { aa: true };
    switch (m.kind) {
      case 'nxdomain':
      case 'none':
        if (this.opts.fallthrough) return next();
        // A node that cannot vouch for its copy (cut off from etcd) denies nothing (src/registry/freshness.ts).
        if (!registryVouches(this.registry)) return { msg: { rcode: Rcode.SERVFAIL }, depends };
        return m.kind === 'none' ? { msg: { rcode: Rcode.NOERROR, flags: aa, answers: [] }, depends } : { msg: { rcode: Rcode.NXDOMAIN, flags: aa }, depends };
      case 'addresses': {
        const start = m.turn++ % m.rrs.length;
        const a = m.addresses;
        // rrsetTtl over every instance, from the two minima kept with the selection.
        const t = Math.min(this.opts.maxTtl, Math.max(this.opts.minTtl, Math.min(a.fixedTtl, Math.ceil((a.expiresAt - now) / 1000))));
        if (addressAnswerLength(a.wire, req.qnameEnd) + (req.edns ? OPT_SIZE : 0) <= req.maxSize) {
          return { wire: addressAnswer(a.wire, req, start, t), depends };
        }
        // Too big for this client: a message, which the server truncates.
        const type = q === Type.A ? 'A' : 'AAAA';
        const answers: RR[] = [];
        for (let i = 0; i < m.rrs.length; i++) answers.push({ name: req.qname, type, ttl: t, data: m.rrs[(start + i) % m.rrs.length]!.address });
        return { msg: { rcode: Rcode.NOERROR, flags: aa, answers }, depends };
      }
    }
  }

  private build(name: string, qtype: number): Memo {
    const rel = name === this.zone ? '' : name.slice(0, name.length - this.zone.length - 1);
    const sel = selectName(rel, this.registry, this.opts.order);
    if (sel.kind === 'none') return { kind: 'nxdomain', until: Infinity, turn: 0 };
    // Any instance expiring can change the selection (the region fallback).
    const until = firstExpiry(sel.services);
    // The apex and empty non-terminals exist without addresses; RFC 2782 names own SRV records only.
    if (sel.kind === 'empty' || sel.alias) return { kind: 'none', until, turn: 0 };
    // Literals rather than spreads: V8 gives spread copies a hidden class each.
    const p = pickRanked(sel, qtype);
    switch (p.kind) {
      case 'addresses':
        return { kind: 'addresses', rrs: p.rrs, addresses: addressesOf(qtype, p.rrs, this.opts.maxTtl), until, turn: 0 };
      case 'none':
        return { kind: 'none', until, turn: 0 };
    }
  }
}

/**
 * `memo: "auto"`: max(MEMO_AUTO_MIN, 2 × the registry's distinct service
 * names) (A and AAAA of each), recounted at most once per registry version
 * and only when the memo is full.
 */
function autoCapacity(registry: Registry): () => number {
  return answerCapacity(registry, MEMO_AUTO_MIN);
}
