/**
 * The reply for a resolved name and a query type. Every reply here is
 * authoritative (AA=1); the negative ones all come from `negativeAnswer`.
 *
 * ANY (RFC 8482): over UDP a name with data answers one synthesized
 * `HINFO "RFC8482" ""` record, so the zone is no amplifier; over TCP the
 * name's real records (the SRV set of a service name, SOA and NS at the apex).
 */
import { isIP } from 'node:net';
import { Rcode, Type, type Message, type RR } from '../../src/dns/types.js';
import { serviceName } from '../../src/registry/names.js';
import type { Request } from '../../src/plugin.js';
import type { StoredService } from '../../src/registry/types.js';
import { Lifetime } from './lifetime.js';
import type { ZoneConfig } from './options.js';
import type { Resolver, Target } from './resolve.js';
import { srvAnswer } from './srv.js';

export interface Built {
  msg: Message;
  life: Lifetime;
}

/** A/AAAA/CNAME of a name that exists: answered further down the chain (synth). */
export interface Delegate {
  delegate: true;
  until: number;
}

export interface AnswerContext extends Resolver {
  serial: number;
  now: number;
}

export function soaRecord(zone: string, ttl: number, cfg: ZoneConfig, serial: number): RR {
  const { ns, hostmaster, refresh, retry, expire, minimum } = cfg.soa;
  return { name: zone, type: 'SOA', ttl, data: { mname: ns, rname: hostmaster, serial, refresh, retry, expire, minimum } };
}

/** NS records of a zone apex, with the name server's addresses when it lives in the forward zone. */
function nsRecords(zone: string, c: AnswerContext, life: Lifetime): { answers: RR[]; additionals: RR[] } {
  const ttl = life.fixed(c.cfg.soa.ttl);
  return { answers: [{ name: zone, type: 'NS', ttl, data: c.cfg.soa.ns }], additionals: nsAddresses(c.cfg.soa.ns, c.cfg, ttl, 0) };
}

/** A/AAAA of the name server name from `nsAddress`; family 0 for both. */
function nsAddresses(owner: string, cfg: ZoneConfig, ttl: number, family: 0 | 4 | 6): RR[] {
  return cfg.nsAddresses
    .filter((a) => family === 0 || isIP(a) === family)
    .map((a) => ({ name: owner, type: isIP(a) === 4 ? 'A' : 'AAAA', ttl, data: a }));
}

function hinfo(owner: string, c: AnswerContext, life: Lifetime): RR {
  return { name: owner, type: 'HINFO', ttl: life.fixed(c.cfg.soa.ttl), data: { cpu: 'RFC8482', os: '' } };
}

function ptrRecords(owner: string, services: StoredService[], c: AnswerContext, life: Lifetime): RR[] {
  const ttl = life.rrset(services);
  const targets = [...new Set(services.map((s) => serviceName(s, c.cfg.zone, c.cfg.order)))].sort();
  return targets.map((t) => ({ name: owner, type: 'PTR', ttl, data: t }));
}

/** The records of `t` for `req`'s type; an empty answer means NODATA. */
function positive(t: Exclude<Target, { kind: 'nxdomain' }>, req: Request, c: AnswerContext, life: Lifetime): Message | Delegate {
  const owner = req.qname;
  const q = req.qtype;
  const any = q === Type.ANY;
  const tcpAny = any && req.transport === 'tcp';
  const addressType = q === Type.A || q === Type.AAAA || q === Type.CNAME;
  switch (t.kind) {
    case 'apex': {
      if (q === Type.SOA) return { rcode: 0, answers: [soaRecord(owner, life.fixed(c.cfg.soa.ttl), c.cfg, c.serial)] };
      if (q === Type.NS) return { rcode: 0, ...nsRecords(owner, c, life) };
      if (any && !tcpAny) return { rcode: 0, answers: [hinfo(owner, c, life)] };
      if (tcpAny) {
        const ns = nsRecords(owner, c, life);
        return { rcode: 0, answers: [soaRecord(owner, life.fixed(c.cfg.soa.ttl), c.cfg, c.serial), ...ns.answers], additionals: ns.additionals };
      }
      if (t.zone !== c.cfg.zone) return { rcode: 0 };
      // The apex selects every service ("missing leftmost labels mean any").
      if (q === Type.SRV) {
        const all = c.registry.list();
        return all.length ? { rcode: 0, ...srvAnswer(owner, all, undefined, c.cfg.zone, life) } : { rcode: 0 };
      }
      if (addressType && c.cfg.addresses === 'next') return { delegate: true, until: Infinity };
      return { rcode: 0 };
    }
    case 'nsname': {
      const ttl = c.cfg.soa.ttl;
      if (q === Type.A || q === Type.AAAA || tcpAny) {
        const rrs = nsAddresses(owner, c.cfg, ttl, q === Type.A ? 4 : q === Type.AAAA ? 6 : 0);
        if (rrs.length) life.fixed(ttl);
        return { rcode: 0, answers: rrs };
      }
      if (any && c.cfg.nsAddresses.length) return { rcode: 0, answers: [hinfo(owner, c, life)] };
      return { rcode: 0 };
    }
    case 'empty':
      life.depend(t.services);
      return { rcode: 0 };
    case 'services': {
      if (q === Type.SRV || tcpAny) return { rcode: 0, ...srvAnswer(owner, t.services, t.region, c.cfg.zone, life) };
      life.depend(t.services);
      if (any) return { rcode: 0, answers: [hinfo(owner, c, life)] };
      // RFC 2782 names own SRV records only; other names' addresses come from synth.
      if (addressType && !t.alias && c.cfg.addresses === 'next') return { delegate: true, until: life.validUntil() };
      return { rcode: 0 };
    }
    case 'reverse':
      if (q === Type.PTR || tcpAny) return { rcode: 0, answers: ptrRecords(owner, t.services, c, life) };
      life.depend(t.services);
      if (any) return { rcode: 0, answers: [hinfo(owner, c, life)] };
      return { rcode: 0 };
  }
}

/** The zone's reply for a name it holds, or the instruction to delegate. */
export function buildAnswer(t: Target, req: Request, c: AnswerContext): Built | Delegate {
  const life = new Lifetime(c.now, c.cfg.minTtl, c.cfg.maxTtl);
  if (t.kind === 'nxdomain') return { msg: negativeAnswer(Rcode.NXDOMAIN, t.zone, c, life), life };
  const m = positive(t, req, c, life);
  if ('delegate' in m) return m;
  if (!m.answers?.length) return { msg: negativeAnswer(Rcode.NOERROR, t.zone, c, life), life };
  m.flags = { aa: true };
  return { msg: m, life };
}

/**
 * Every negative answer of the zone, its own and those it completes for the
 * plugins after it (RFC 2308): NXDOMAIN when the name does not exist (nothing
 * at or below it, RFC 8020), NODATA (NOERROR, no answer) when it exists without
 * records of the type; AA=1 and the zone's SOA in the authority section with
 * TTL min(SOA TTL, SOA minimum) (§3). `life` is the built answer's, when it is
 * kept pre-encoded.
 */
export function negativeAnswer(rcode: typeof Rcode.NXDOMAIN | typeof Rcode.NOERROR, zone: string, c: AnswerContext, life?: Lifetime): Message {
  const negTtl = Math.min(c.cfg.soa.ttl, c.cfg.soa.minimum);
  const soa = soaRecord(zone, life ? life.fixed(negTtl) : negTtl, c.cfg, c.serial);
  return { rcode, flags: { aa: true }, answers: [], authorities: [soa] };
}
