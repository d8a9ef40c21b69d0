/**
 * What a query name is in the zone: the apex, the name server's name, a name
 * that selects services, an empty non-terminal, a reverse name, or nothing.
 *
 * Service names read most specific label first in the configured order
 * (default `<uuid>.<host>.<region>.<version>.<name>.<environment>.<zone>`);
 * missing leftmost labels, `any` and `*` mean any. Two further spellings:
 *  - `<uuid>.<zone>`: the one instance with that UUID (the SRV target of an
 *    instance registered by address). A live UUID wins over an environment
 *    of the same name.
 *  - `_<name>._tcp.<environment>.<zone>` (or `_udp`): RFC 2782's form, an alias
 *    of `<name>.<environment>.<zone>`.
 * The region label does not filter: it ranks (the requested region first, the
 * others as fallback), so a name exists when the rest of it selects services.
 */
import { isSubdomain } from '../../src/dns/names.js';
import { parsePattern } from '../../src/registry/pattern.js';
import type { Registry, ServicePattern, StoredService } from '../../src/registry/types.js';
import type { ZoneConfig } from './options.js';
import type { ReverseIndex } from './reverse.js';

export type Target =
  /** `zone` is the apex of the forward zone or of a reverse zone. */
  | { kind: 'apex'; zone: string }
  | { kind: 'nsname'; zone: string }
  /** The name exists (it is above names that have data) but holds no records itself. */
  | { kind: 'empty'; zone: string; services: StoredService[] }
  | { kind: 'services'; zone: string; services: StoredService[]; region: string | undefined; alias: boolean }
  | { kind: 'reverse'; zone: string; services: StoredService[] }
  | { kind: 'nxdomain'; zone: string };

export interface Resolver {
  cfg: ZoneConfig;
  registry: Registry;
  reverse: ReverseIndex;
}

/** Labels of `name` left of `zone` ('' for the apex). */
function relative(name: string, zone: string): string {
  return name === zone ? '' : name.slice(0, name.length - zone.length - 1);
}

/** The zone (forward or reverse) holding `name`, or null when the plugin does not hold it. */
export function authority(name: string, cfg: ZoneConfig): string | null {
  let best: string | null = isSubdomain(name, cfg.zone) ? cfg.zone : null;
  for (const z of cfg.ptrZones) {
    if (isSubdomain(name, z) && (best === null || z.length > best.length)) best = z;
  }
  return best;
}

/** The services a forward name selects, with the region it asks for (ranking only). */
export function selectServices(rel: string, r: Resolver): { services: StoredService[]; region: string | undefined; alias: boolean } | null {
  const labels = rel.split('.');
  let p: ServicePattern | null;
  let alias = false;
  if (labels.length === 3 && labels[0]!.startsWith('_') && (labels[1] === '_tcp' || labels[1] === '_udp')) {
    p = { name: labels[0]!.slice(1), environment: labels[2]! };
    alias = true;
  } else {
    if (labels.length === 1) {
      const one = r.registry.get(labels[0]!);
      if (one) return { services: [one], region: undefined, alias: false };
    }
    p = parsePattern(rel, r.cfg.order);
  }
  if (p === null) return null;
  const region = p.region;
  delete p.region;
  return { services: r.registry.query(p), region, alias };
}

export function resolve(name: string, r: Resolver, now: number): Target | null {
  const zone = authority(name, r.cfg);
  if (zone === null) return null;
  if (name === zone) return { kind: 'apex', zone };
  const rel = relative(name, zone);

  if (zone !== r.cfg.zone) {
    const services = r.reverse.lookup(name, now);
    if (services.length) return { kind: 'reverse', zone, services };
    const below = r.reverse.below(name, now);
    return below.length ? { kind: 'empty', zone, services: below } : { kind: 'nxdomain', zone };
  }

  const ns = r.cfg.soa.ns;
  if (name === ns) return { kind: 'nsname', zone };
  const sel = selectServices(rel, r);
  if (sel && sel.services.length) return { kind: 'services', zone, ...sel };
  if (isSubdomain(ns, name)) return { kind: 'empty', zone, services: [] };
  return { kind: 'nxdomain', zone };
}
