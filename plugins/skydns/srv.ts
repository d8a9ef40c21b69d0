/**
 * The SRV RRset of a service name (RFC 2782), one record per instance.
 *
 * Priority: when the name asks for a region, instances there get 10 and the
 * others 20, so a client falls back to them; otherwise each instance's
 * registered Priority, or 10.
 * Weight: a share of 100 within its priority, in proportion to the registered
 * Weight (an instance without one counts as the average of those that have
 * one; equal shares when none has). Never 0: RFC 2782 gives weight-0 records
 * "a very small chance of being selected", which is not what a live instance
 * registered without a weight means.
 * Target: the Host when it is a name; when it is an address, `<uuid>.<zone>`
 * with the address as an A/AAAA record in the additional section.
 */
import { isIP } from 'node:net';
import type { RR } from '../../src/dns/types.js';
import { toLabel } from '../../src/registry/names.js';
import type { StoredService } from '../../src/registry/types.js';
import type { Lifetime } from './lifetime.js';

export const PRIORITY_LOCAL = 10;
export const PRIORITY_REMOTE = 20;

function priority(s: StoredService, region: string | undefined): number {
  if (region !== undefined) return toLabel(s.Region) === region ? PRIORITY_LOCAL : PRIORITY_REMOTE;
  return s.Priority ?? PRIORITY_LOCAL;
}

/** Shares of 100 for one priority group, in the group's order. */
export function weights(group: readonly StoredService[]): number[] {
  const given = group.filter((s) => s.Weight !== undefined).map((s) => s.Weight!);
  const sumGiven = given.reduce((a, b) => a + b, 0);
  if (sumGiven === 0) return group.map(() => Math.max(1, Math.floor(100 / group.length)));
  const avg = sumGiven / given.length;
  const w = group.map((s) => s.Weight ?? avg);
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => Math.max(1, Math.floor((100 * x) / sum)));
}

/** The name an instance is reached at: its Host, or `<uuid>.<zone>` when the Host is an address. */
export function targetOf(s: StoredService, zone: string): string {
  return isIP(s.Host) ? `${toLabel(s.UUID)}.${zone}` : s.Host;
}

/** Address records of instances registered by address, owned by `<uuid>.<zone>`, one RRset each. */
export function addressRecords(services: readonly StoredService[], zone: string, life: Lifetime): RR[] {
  const out: RR[] = [];
  for (const s of services) {
    const family = isIP(s.Host);
    if (family === 0) continue;
    out.push({ name: `${toLabel(s.UUID)}.${zone}`, type: family === 4 ? 'A' : 'AAAA', ttl: life.rrset([s]), data: s.Host });
  }
  return out;
}

/**
 * SRV records owned by `owner` (the query name as the client spelled it) and
 * the additional address records, sorted by priority then UUID so the same
 * registry state always encodes to the same bytes.
 */
export function srvAnswer(owner: string, services: readonly StoredService[], region: string | undefined, zone: string, life: Lifetime): { answers: RR[]; additionals: RR[] } {
  const ranked = services
    .map((s) => ({ s, p: priority(s, region), u: toLabel(s.UUID) }))
    .sort((a, b) => a.p - b.p || (a.u < b.u ? -1 : 1));
  const ttl = life.rrset(services);
  const answers: RR[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < ranked.length;) {
    let j = i;
    while (j < ranked.length && ranked[j]!.p === ranked[i]!.p) j++;
    const group = ranked.slice(i, j).map((x) => x.s);
    const w = weights(group);
    group.forEach((s, k) => {
      const data = { priority: ranked[i]!.p, weight: w[k]!, port: s.Port, target: targetOf(s, zone) };
      // An RRset holds no duplicate records (RFC 2181 §5): two registrations of one endpoint are one record.
      const key = `${data.priority} ${data.weight} ${data.port} ${data.target.toLowerCase()}`;
      if (seen.has(key)) return;
      seen.add(key);
      answers.push({ name: owner, type: 'SRV', ttl, data });
    });
    i = j;
  }
  return { answers, additionals: addressRecords(ranked.map((x) => x.s), zone, life) };
}
