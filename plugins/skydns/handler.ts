/**
 * The skydns query handler: names outside its zones (and classes other than
 * IN) go to the next plugin; names inside get an authoritative answer, served
 * from the pre-encoded map when it has one.
 *
 * A, AAAA and CNAME of names that exist are answered by the next plugin
 * (synth) when `addresses` is "next": skydns hands the query on and gives a
 * negative reply that comes back the zone's SOA and AA. If nothing down the
 * chain answers (it falls off the end), the reply is NODATA, never REFUSED.
 */
import type { Clock } from '../../src/clock.js';
import { isPromise } from '../../src/chain.js';
import { Rcode, type Message } from '../../src/dns/types.js';
import type { DependsOn, Next, Plugin, Reply, Request } from '../../src/plugin.js';
import { answerGeneration, type AnswerGeneration } from '../../src/registry/generation.js';
import { registryVouches, type Registry } from '../../src/registry/types.js';
import { buildAnswer, negativeAnswer } from './answer.js';
import type { ZoneConfig } from './options.js';
import { authority, resolve, type Resolver } from './resolve.js';
import { ReverseIndex } from './reverse.js';
import { autoCapacity, encodeEntry, serveWire, WireCache } from './wire-cache.js';

const AXFR = 252;
const IXFR = 251;

/**
 * SOA serial: seconds since the epoch of the last registry change seen (the
 * answers' generation: heartbeats do not count), and always at least one more
 * than the previous serial, so it rises with every change (RFC 1982 order)
 * and does not go back across restarts.
 */
export class SerialCounter {
  private version = NaN;
  private value = 0;

  observe(version: number, now: number): number {
    if (version !== this.version) {
      const s = Math.floor(now / 1000);
      this.value = Number.isNaN(this.version) ? s : Math.max(this.value + 1, s);
      this.version = version;
    }
    return this.value >>> 0;
  }
}

export class SkydnsHandler implements Plugin {
  readonly cache: WireCache;
  private readonly serial = new SerialCounter();
  private readonly resolver: Resolver;
  /** Moves on registry changes other than heartbeats (src/registry/generation.ts). */
  private readonly generation: AnswerGeneration;
  private depends: DependsOn | undefined;

  constructor(readonly cfg: ZoneConfig, readonly registry: Registry, private readonly clock: Clock) {
    this.cache = new WireCache(cfg.wireCache === 'auto' ? autoCapacity(registry) : cfg.wireCache);
    this.resolver = { cfg, registry, reverse: new ReverseIndex(registry) };
    this.generation = answerGeneration(registry);
  }

  ready(): boolean {
    return this.registry.ready();
  }

  /** Synchronous: a kept answer is a copy and a patch; A/AAAA wait only if the plugins after this one do. */
  serveDNS(req: Request, next: Next): Reply | Promise<Reply> {
    if (req.qclass !== 1 || authority(req.name, this.cfg) === null) return next();
    // Zone transfers are not offered (the zone is a view of the registry, not a file).
    if (req.qtype === AXFR || req.qtype === IXFR) return { msg: { rcode: Rcode.REFUSED } };
    const now = this.clock.now();
    const version = this.generation.version;
    let depends = this.depends;
    if (!depends || depends.version !== version) depends = this.depends = { on: this.generation, version };
    const serial = this.serial.observe(version, now);
    this.cache.sync(version);

    const key = WireCache.key(req);
    const hit = this.cache.get(key, now);
    if (hit?.kind === 'delegate') return this.delegate(req, next, depends, serial, now);
    if (hit) {
      const wire = serveWire(hit, req, now);
      if (wire) return { wire, depends };
    }

    const target = resolve(req.name, this.resolver, now)!;
    const built = buildAnswer(target, req, { ...this.resolver, serial, now });
    if ('delegate' in built) {
      this.cache.set(key, { kind: 'delegate', until: built.until });
      return this.delegate(req, next, depends, serial, now);
    }
    if (isNegative(built.msg) && !registryVouches(this.registry)) return cannotVouch(depends);
    const entry = encodeEntry(req, built.msg, now, built.life.aging, built.life.validUntil());
    this.cache.set(key, entry);
    const wire = serveWire(entry, req, now);
    return wire ? { wire, depends } : { msg: built.msg, depends };
  }

  private delegate(req: Request, next: Next, depends: DependsOn, serial: number, now: number): Reply | Promise<Reply> {
    const reply = next();
    return isPromise(reply) ? reply.then((r) => this.delegated(r, depends, serial, now)) : this.delegated(reply, depends, serial, now);
  }

  /**
   * The rest of the chain's answer for a name of the zone. Only names that
   * exist are delegated, so a negative answer from there is NODATA: an
   * NXDOMAIN (synth without the name) or falling off the end of the chain
   * (no synth) cannot stand for a name that exists, and neither can a CNAME
   * (the name owns other data). Negative answers get the zone's SOA
   * (negativeAnswer); a positive one passes as it is.
   */
  private delegated(reply: Reply, depends: DependsOn, serial: number, now: number): Reply {
    if ('drop' in reply) return reply;
    if ('msg' in reply) {
      const m = reply.msg;
      const fellOff = m.rcode === Rcode.REFUSED && reply.by === undefined;
      // A node that cannot vouch for its copy (cut off from etcd) denies nothing (src/registry/freshness.ts).
      if ((isNegative(m) || fellOff) && !registryVouches(this.registry)) return cannotVouch(depends);
      // Every delegated name owns other data (SRV; SOA and NS at the apex): a CNAME cannot stand there (RFC 1034 §3.6.2).
      const cname = m.rcode === Rcode.NOERROR && m.answers?.some((rr) => rr.type === 'CNAME') === true;
      if (fellOff || cname || (isNegative(m) && !m.answers?.length)) {
        const msg = negativeAnswer(Rcode.NOERROR, this.cfg.zone, { ...this.resolver, serial, now });
        return fellOff ? { msg, depends } : { msg, by: reply.by, depends: reply.depends ?? depends };
      }
    }
    if (reply.depends) return reply;
    if ('wire' in reply) return { wire: reply.wire, by: reply.by, depends };
    return { msg: reply.msg, by: reply.by, depends };
  }
}

function isNegative(m: Message): boolean {
  return m.rcode === Rcode.NXDOMAIN || (m.rcode === Rcode.NOERROR && !m.answers?.length);
}

/**
 * The registry cannot vouch for its copy (a node cut off from etcd): a name
 * it does not hold may exist, so no denial. SERVFAIL sends stub resolvers to
 * their next nameserver (src/registry/freshness.ts).
 */
function cannotVouch(depends: DependsOn): Reply {
  return { msg: { rcode: Rcode.SERVFAIL }, depends };
}
