/**
 * Which names of the forward zone exist, and what the registry puts at each:
 * the one reading of a query name that the skydns (SRV) and synth (A/AAAA)
 * plugins share, so the two never disagree on whether a name exists.
 *
 * Names read most specific label first in the configured order (default
 * `<uuid>.<host>.<region>.<version>.<name>.<environment>`); missing leftmost
 * labels, `any` and `*` mean any. Two further spellings:
 *  - `<uuid>`: the one instance with that UUID (a live UUID wins over an
 *    environment of the same name).
 *  - `_<name>._tcp.<environment>` (or `_udp`): RFC 2782's form, an alias of
 *    `<name>.<environment>` that owns SRV records only.
 * The region label ranks rather than filters, so a name selects services when
 * the rest of it does.
 *
 * A name that selects nothing may still exist: RFC 1034 §3.1/§4.3.2 and
 * RFC 8020 §2 make every ancestor of a name with data an existing name (an
 * empty non-terminal, NODATA), never NXDOMAIN, or resolvers that trust
 * NXDOMAIN or minimise QNAMEs (RFC 9156) would conclude nothing lies below.
 * A pattern name's ancestors are shorter patterns, which select at least as
 * much; so the names that exist only through names below them are the
 * ancestors of the RFC 2782 names: `_tcp.<environment>`, `_udp.<environment>`,
 * and `<environment>` itself when the order does not end with the environment.
 * Their existence is a question to the index ("anything live in this
 * environment?") that stops at the first record, not a scan. Wildcards there
 * mean what they mean everywhere: `_tcp.any` exists when anything is registered.
 * Lookups take the lowercased name, so all of this is case-insensitive.
 */
import { parsePattern } from './pattern.js';
import type { FieldName, Registry, ServicePattern, StoredService } from './types.js';

export type NameSelection =
  /** The name owns data: the services it selects (at least one). */
  | { kind: 'services'; services: StoredService[]; region: string | undefined; alias: boolean }
  /**
   * The name exists without data of its own: names below it have data (an
   * empty non-terminal), or it is the apex. `services` are the ones it exists
   * through (empty for the apex, which always exists): an answer built on it
   * holds until they go.
   */
  | { kind: 'empty'; services: StoredService[] }
  /** Nothing at or below this name: NXDOMAIN. */
  | { kind: 'none' };

const PROTOCOLS = new Set(['_tcp', '_udp']);

/** An RFC 2782 name `_<name>._tcp.<environment>`: the pattern it selects, or null. */
function rfc2782(labels: readonly string[]): ServicePattern | null {
  if (labels.length !== 3 || !PROTOCOLS.has(labels[1]!)) return null;
  const service = labels[0]!;
  // `_` alone names no service (it would select every name).
  if (service.length < 2 || service[0] !== '_') return null;
  return { name: service.slice(1), environment: labels[2]! };
}

/**
 * A service registered in the environment this name is an ancestor of, when
 * the name is `_tcp.<environment>`, `_udp.<environment>` or `<environment>`;
 * undefined otherwise or when nothing lives there.
 */
function enclosingEnvironment(labels: readonly string[], registry: Registry): StoredService | undefined {
  if (labels.length === 2 && PROTOCOLS.has(labels[0]!)) return registry.first({ environment: labels[1]! });
  if (labels.length === 1) return registry.first({ environment: labels[0]! });
  return undefined;
}

/**
 * What the forward zone holds at `rel`: the lowercased labels left of the zone,
 * '' for the apex.
 */
export function selectName(rel: string, registry: Registry, order: readonly FieldName[]): NameSelection {
  if (rel === '') {
    // The apex selects every service; it exists whatever the registry holds.
    const all = registry.list();
    return all.length ? { kind: 'services', services: all, region: undefined, alias: false } : { kind: 'empty', services: [] };
  }
  const labels = rel.split('.');
  const alias = rfc2782(labels);
  if (alias) {
    const services = registry.query(alias);
    if (services.length) return { kind: 'services', services, region: undefined, alias: true };
    return { kind: 'none' };
  }
  if (labels.length === 1) {
    const one = registry.get(labels[0]!);
    if (one) return { kind: 'services', services: [one], region: undefined, alias: false };
  }
  const p = parsePattern(rel, order);
  if (p !== null) {
    const region = p.region;
    delete p.region;
    const services = registry.query(p);
    if (services.length) return { kind: 'services', services, region, alias: false };
  }
  const witness = enclosingEnvironment(labels, registry);
  return witness ? { kind: 'empty', services: [witness] } : { kind: 'none' };
}
