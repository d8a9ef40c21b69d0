/**
 * Response rate limiting in the spirit of BIND's RRL: UDP responses to each
 * client prefix come out of a token bucket. Past the limit, a response is
 * dropped, except every `slip`th, which is sent truncated (TC=1, no records):
 * a real client retries over TCP and gets its answer, while a spoofed victim
 * receives at most a small fraction of small packets. TCP queries are never
 * limited: the handshake proves the address, so they cannot be reflected.
 *
 * ANY over UDP (RFC 8482 §4.2) is answered with one synthesized
 * `HINFO "RFC8482" ""` record instead of everything at the name, so an ANY
 * query cannot be turned into a large reply.
 */
import type { Counter, Gauge } from 'prom-client';
import { NetworkSet, prefixKey } from '../../src/cidr.js';
import { Rcode, Type } from '../../src/dns/types.js';
import { DROP, type Next, type Plugin, type Reply, type Request } from '../../src/plugin.js';
import type { BucketTable } from '../../src/token-buckets.js';

export interface RatelimitOptions {
  responsesPerSecond: number;
  /** Bucket size; default five seconds' worth of responses. */
  burst?: number;
  /** Every Nth limited response goes out truncated (0: none, 1: all). */
  slip: number;
  ipv4Prefix: number;
  ipv6Prefix: number;
  exempt: string[];
  any: 'minimal' | 'pass';
  anyTtl: number;
  maxBuckets: number;
}

export interface RatelimitDeps {
  buckets: BucketTable;
  exempt: NetworkSet;
  limited: Counter<'action'>;
  minimalAny: Counter;
  tracked: Gauge;
}

export class RatelimitPlugin implements Plugin {
  constructor(
    private readonly o: RatelimitOptions,
    private readonly d: RatelimitDeps,
  ) {}

  async serveDNS(req: Request, next: Next): Promise<Reply> {
    if (req.transport === 'tcp') return next();
    if (this.d.exempt.size === 0 || !this.d.exempt.has(req.remote.address)) {
      const t = this.d.buckets.take(prefixKey(req.remote.address, this.o.ipv4Prefix, this.o.ipv6Prefix));
      this.d.tracked.set(this.d.buckets.size);
      if (!t.ok) {
        if (this.o.slip > 0 && t.limited % this.o.slip === 0) {
          this.d.limited.inc({ action: 'slip' });
          return { msg: { rcode: Rcode.NOERROR, flags: { tc: true } } };
        }
        this.d.limited.inc({ action: 'drop' });
        return DROP;
      }
    }
    if (req.qtype === Type.ANY && this.o.any === 'minimal') {
      this.d.minimalAny.inc();
      return { msg: { rcode: Rcode.NOERROR, answers: [{ name: req.qname, type: 'HINFO', ttl: this.o.anyTtl, data: { cpu: 'RFC8482', os: '' } }] } };
    }
    return next();
  }
}
