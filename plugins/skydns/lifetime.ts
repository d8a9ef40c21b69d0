/**
 * TTLs of answers built from the registry, and how long such an answer may be
 * served again from its pre-encoded form.
 *
 * One TTL per RRset (RFC 2181 §5.2): the smallest remaining lifetime of the
 * services behind it, clamped to [minTtl, maxTtl]. A NoExpire service counts
 * with its registered TTL (maxTtl when that is 0).
 *
 * While a pre-encoded answer is reused its TTLs are aged by the whole seconds
 * since it was built, but only when at least one of them really counts down;
 * fixed TTLs (SOA, NS, a clamped or NoExpire set) stay as written. The answer
 * must be rebuilt once any record in it would disappear or change TTL
 * differently than aging predicts: at a service's expiry, when a set clamped
 * to maxTtl starts counting down, and when its smallest TTL has run out.
 */
import type { StoredService } from '../../src/registry/types.js';

export class Lifetime {
  /** Some TTL in the answer counts down with time. */
  aging = false;
  /** Time (ms) at which the answer must be rebuilt. */
  until = Infinity;
  private smallest = Infinity;

  constructor(readonly now: number, readonly minTtl: number, readonly maxTtl: number) {}

  /** The TTL of an RRset drawn from `services` (at least one). */
  rrset(services: readonly StoredService[]): number {
    let remaining = Infinity;
    let expiresAt = Infinity;
    for (const s of services) {
      if (s.expiresAt === Infinity) {
        remaining = Math.min(remaining, s.TTL > 0 ? s.TTL : this.maxTtl);
      } else {
        remaining = Math.min(remaining, Math.ceil((s.expiresAt - this.now) / 1000));
        expiresAt = Math.min(expiresAt, s.expiresAt);
      }
    }
    this.depend(services);
    const ttl = Math.min(this.maxTtl, Math.max(this.minTtl, remaining));
    if (expiresAt !== Infinity) {
      const counting = Math.ceil((expiresAt - this.now) / 1000);
      if (counting > this.maxTtl) {
        // Held at maxTtl until the soonest expiry is maxTtl seconds away.
        this.until = Math.min(this.until, expiresAt - this.maxTtl * 1000);
      } else if (ttl === counting) {
        this.aging = true;
      }
    }
    this.smallest = Math.min(this.smallest, ttl);
    return ttl;
  }

  /** A TTL that does not depend on any service (SOA, NS, HINFO). */
  fixed(ttl: number): number {
    this.smallest = Math.min(this.smallest, ttl);
    return ttl;
  }

  /** The answer relies on these services existing (a NODATA, a name that exists) without taking a TTL from them. */
  depend(services: readonly StoredService[]): void {
    for (const s of services) if (s.expiresAt < this.until) this.until = s.expiresAt;
  }

  /** When the built answer stops being valid. */
  validUntil(): number {
    if (this.aging && this.smallest !== Infinity) return Math.min(this.until, this.now + this.smallest * 1000);
    return this.until;
  }
}
