/**
 * What a query name is in the zone: the apex, the name server's name, a name
 * that selects services, an empty non-terminal, a reverse name, or nothing.
 * How forward names read, and which exist, is src/registry/zone-names.ts
 * (shared with synth); the reverse names are reverse.ts.
 */
import { isSubdomain } from '../../src/dns/names.js';
import type { Registry, StoredService } from '../../src/registry/types.js';
import { selectName } from '../../src/registry/zone-names.js';
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
  const sel = selectName(rel, r.registry, r.cfg.order);
  if (sel.kind === 'services') return { kind: 'services', zone, services: sel.services, region: sel.region, alias: sel.alias };
  if (sel.kind === 'empty') return { kind: 'empty', zone, services: sel.services };
  // The name server's name, when it lives in the zone, makes its ancestors exist too.
  if (isSubdomain(ns, name)) return { kind: 'empty', zone, services: [] };
  return { kind: 'nxdomain', zone };
}
