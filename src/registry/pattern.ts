/**
 * Service patterns: which services a DNS name or an API `?query=` selects.
 * A DNS-style pattern lists labels most specific first, e.g. `east.any.web.production`:
 * the rightmost label is the last field of the order (environment), the one
 * before it the field before that (name), and so on. Missing leftmost labels,
 * `any` and `*` mean any. Matching is case-insensitive.
 */
import { DEFAULT_ORDER, labelsOf, toLabel } from './names.js';
import type { FieldName, Service, ServicePattern } from './types.js';

export type { ServicePattern } from './types.js';

const ANY = new Set(['any', '*']);

/**
 * Parses a DNS-style pattern (the part of a query name left of the zone).
 * Returns null when it cannot match anything: more labels than the order has,
 * or an empty label (`a..b`). The empty string selects everything.
 */
export function parsePattern(dnsStyle: string, order: readonly FieldName[] = DEFAULT_ORDER): ServicePattern | null {
  const s = dnsStyle.endsWith('.') ? dnsStyle.slice(0, -1) : dnsStyle;
  if (s === '') return {};
  const labels = s.split('.');
  if (labels.length > order.length) return null;
  const p: ServicePattern = {};
  // Align the rightmost label with the last field of the order.
  const offset = order.length - labels.length;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!.toLowerCase();
    if (l === '') return null;
    if (!ANY.has(l)) p[order[offset + i]!] = l;
  }
  return p;
}

/**
 * A pattern in canonical form: lowercased, dots/colons turned into '-' (so a
 * Version of `1.0.1` and the label `1-0-1` agree) and wildcards dropped.
 */
export function normalizePattern(p: ServicePattern): ServicePattern {
  const out: ServicePattern = {};
  for (const [k, v] of Object.entries(p) as [FieldName, string | undefined][]) {
    if (v === undefined || v === '' || ANY.has(v.toLowerCase())) continue;
    out[k] = toLabel(v);
  }
  return out;
}

/**
 * A pattern ready to compare against many services: normalised once, as the
 * concrete fields and their labels. `uuid`, `environment` and `name` are kept
 * apart for the index's lookups; with `skipBucket` the environment and name
 * are left out of the comparison (for records taken from that bucket).
 */
export interface CompiledPattern {
  fields: FieldName[];
  values: string[];
  uuid?: string;
  environment?: string;
  name?: string;
}

export function compilePattern(p: ServicePattern, skipBucket = false): CompiledPattern {
  const c: CompiledPattern = { fields: [], values: [] };
  for (const k in p) {
    const v = p[k as FieldName];
    if (v === undefined || v === '') continue;
    const want = toLabel(v);
    if (ANY.has(want)) continue;
    if (k === 'uuid') c.uuid = want;
    else if (k === 'environment') c.environment = want;
    else if (k === 'name') c.name = want;
    if (skipBucket && (k === 'environment' || k === 'name')) continue;
    c.fields.push(k as FieldName);
    c.values.push(want);
  }
  return c;
}

/** True when every field of `c` equals the label. */
export function matchesLabels(c: CompiledPattern, labels: Readonly<Record<FieldName, string>>): boolean {
  const f = c.fields;
  for (let i = 0; i < f.length; i++) if (labels[f[i]!] !== c.values[i]) return false;
  return true;
}

/** True when every concrete field of the pattern equals the service's label. */
export function matches(p: ServicePattern, svc: Service): boolean {
  const l = labelsOf(svc);
  for (const k in p) {
    const v = p[k as FieldName];
    if (v === undefined || v === '') continue;
    const want = toLabel(v);
    if (ANY.has(want)) continue;
    if (l[k as FieldName] !== want) return false;
  }
  return true;
}
