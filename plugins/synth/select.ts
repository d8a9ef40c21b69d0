/**
 * Which addresses an A/AAAA/CNAME query gets from the instances a name selects.
 * Which instances that is, and which names exist, is src/registry/zone-names.ts
 * (shared with skydns). The region label ranks rather than filters: the
 * requested region's instances answer when they can, the others are the fallback.
 */
import { isIP } from 'node:net';
import { toLabel } from '../../src/registry/names.js';
import type { StoredService } from '../../src/registry/types.js';
import type { NameSelection } from '../../src/registry/zone-names.js';

/** A name that selects services (src/registry/zone-names.ts). */
export type Selection = Extract<NameSelection, { kind: 'services' }>;

/** The data an address query gets from a set of instances. */
export type Pick =
  | { kind: 'addresses'; rrs: { address: string; services: StoredService[] }[] }
  | { kind: 'none' };

/**
 * A/AAAA: the addresses of the family asked, from instances registered by
 * address (one record per address, sorted). Instances registered by host name
 * have no addresses here, and never a CNAME: every name that selects them also
 * owns their SRV records (and the apex its SOA and NS), and a CNAME cannot
 * stand beside other data (RFC 1034 §3.6.2, RFC 2181 §10.1); a resolver that
 * cached one would follow it for the name's SRV queries too. Clients reach
 * them through the SRV record, whose target is the host name. A CNAME query
 * gets nothing (NODATA).
 */
export function pick(services: readonly StoredService[], qtype: number): Pick {
  if (qtype === 5) return { kind: 'none' };
  const family = qtype === 1 ? 4 : 6;
  const byAddress = new Map<string, StoredService[]>();
  for (const s of services) {
    if (isIP(s.Host) !== family) continue;
    const a = family === 6 ? s.Host.toLowerCase() : s.Host;
    const list = byAddress.get(a);
    if (list) list.push(s);
    else byAddress.set(a, [s]);
  }
  if (byAddress.size === 0) return { kind: 'none' };
  const rrs = [...byAddress].map(([address, list]) => ({ address, services: list }));
  rrs.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { kind: 'addresses', rrs };
}

/** `pick` over the requested region's instances when they answer the query, else over all of them. */
export function pickRanked(sel: Selection, qtype: number): Pick {
  if (sel.region !== undefined) {
    const local = sel.services.filter((s) => toLabel(s.Region) === sel.region);
    const p = local.length ? pick(local, qtype) : { kind: 'none' as const };
    if (p.kind !== 'none') return p;
  }
  return pick(sel.services, qtype);
}
