/**
 * The synth handler: A, AAAA and CNAME for the service names of a zone, built
 * from the registered instances (see select.ts for which). Names outside the
 * zone, other classes and other types go to the next plugin.
 *
 * A name that matches nothing is NXDOMAIN and a name without addresses of the
 * type is NODATA, both AA=1 and without an SOA: skydns, in front of synth for
 * the same zone, adds its SOA to them. With `fallthrough` those go to the next
 * plugin instead (for a chain where synth comes before skydns).
 *
 * Rotation: each query of a name starts its address list one further along
 * (round robin), so clients that take the first address spread over the
 * instances. Because of that, replies are messages rather than pre-encoded
 * wire; what is kept between queries is the selection (per name and type,
 * until the registry changes or one of its instances expires), and TTLs are
 * computed per query from the instances' remaining lifetimes.
 */
import type { Clock } from '../../src/clock.js';
import { isSubdomain } from '../../src/dns/names.js';
import { Rcode, Type, type Message, type RR } from '../../src/dns/types.js';
import type { DependsOn, Next, Plugin, Reply, Request } from '../../src/plugin.js';
import type { FieldName, Registry, StoredService } from '../../src/registry/types.js';
import { chase } from './chase.js';
import { pickRanked, select, type Pick } from './select.js';

export interface SynthOptions {
  zone: string;
  order: FieldName[];
  minTtl: number;
  maxTtl: number;
  fallthrough: boolean;
}

type Memo = (Pick | { kind: 'nxdomain' }) & { until: number; turn: number };

const MEMO_CAPACITY = 4096;

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

export class SynthHandler implements Plugin {
  private readonly memo = new Map<string, Memo>();
  private version = NaN;
  readonly zone: string;

  constructor(private readonly opts: SynthOptions, readonly registry: Registry, private readonly clock: Clock) {
    this.zone = opts.zone.toLowerCase().replace(/\.$/, '');
  }

  ready(): boolean {
    return this.registry.ready();
  }

  async serveDNS(req: Request, next: Next): Promise<Reply> {
    const q = req.qtype;
    if (req.qclass !== 1 || (q !== Type.A && q !== Type.AAAA && q !== Type.CNAME) || !isSubdomain(req.name, this.zone)) return next();
    const now = this.clock.now();
    const version = this.registry.version;
    if (version !== this.version) {
      this.memo.clear();
      this.version = version;
    }
    const key = `${q}/${req.name}`;
    let m = this.memo.get(key);
    if (!m || now >= m.until) {
      m = this.build(req.name, q);
      this.remember(key, m);
    }
    const depends: DependsOn = { on: this.registry, version };
    const ttl = (services: readonly StoredService[]) => rrsetTtl(services, now, this.opts.minTtl, this.opts.maxTtl);
    const aa = { aa: true };
    switch (m.kind) {
      case 'nxdomain':
        return this.opts.fallthrough ? next() : { msg: { rcode: Rcode.NXDOMAIN, flags: aa }, depends };
      case 'none':
        return this.opts.fallthrough ? next() : { msg: { rcode: Rcode.NOERROR, flags: aa, answers: [] }, depends };
      case 'addresses': {
        const all = m.rrs.flatMap((r) => r.services);
        const t = ttl(all);
        const type = q === Type.A ? 'A' : 'AAAA';
        const start = m.turn++ % m.rrs.length;
        const answers: RR[] = [];
        for (let i = 0; i < m.rrs.length; i++) answers.push({ name: req.qname, type, ttl: t, data: m.rrs[(start + i) % m.rrs.length]!.address });
        return { msg: { rcode: Rcode.NOERROR, flags: aa, answers }, depends };
      }
      case 'cname': {
        const cname: RR = { name: req.qname, type: 'CNAME', ttl: ttl(m.services), data: m.target };
        let msg: Message = { rcode: Rcode.NOERROR, flags: aa, answers: [cname] };
        // Targets inside the zone are left to the client's resolver: asking the
        // rest of the chain for them would send zone names past skydns.
        if (req.rd && q !== Type.CNAME && !isSubdomain(m.target.toLowerCase(), this.zone)) msg = await chase(req, cname, next);
        return { msg, depends };
      }
    }
  }

  private build(name: string, qtype: number): Memo {
    const rel = name === this.zone ? '' : name.slice(0, name.length - this.zone.length - 1);
    const sel = select(rel, this.registry, this.opts.order);
    if (!sel || sel.services.length === 0) return { kind: 'nxdomain', until: Infinity, turn: 0 };
    // Any instance expiring can change the selection (the region fallback, the lone CNAME).
    const until = firstExpiry(sel.services);
    if (sel.alias) return { kind: 'none', until, turn: 0 };
    return { ...pickRanked(sel, qtype), until, turn: 0 };
  }

  private remember(key: string, m: Memo): void {
    this.memo.delete(key);
    if (this.memo.size >= MEMO_CAPACITY) {
      const oldest = this.memo.keys().next();
      if (!oldest.done) this.memo.delete(oldest.value);
    }
    this.memo.set(key, m);
  }
}
