/**
 * Validation of services and callbacks, and the mapping between a service and
 * its DNS labels: `<uuid>.<host>.<region>.<version>.<name>.<environment>.<zone>`.
 * Every rejection is a SKY_ERR_REGISTRY_INVALID whose `path` is the offending
 * field and whose message names it, so the API can answer a clear 400.
 */
import { isIP } from 'node:net';
import { SkyError } from '../errors.js';
import type { Callback, FieldName, Service } from './types.js';

export const DEFAULT_ORDER: readonly FieldName[] = ['uuid', 'host', 'region', 'version', 'name', 'environment'];
export const MAX_LABEL = 63;
export const MAX_NAME = 255;
export const DEFAULT_TTL_MIN = 1;
export const DEFAULT_TTL_MAX = 86400;
/** The zone assumed for the 255-byte name check when none is configured. */
export const DEFAULT_ZONE = 'skydns.local';

export interface ValidationOptions {
  ttlMin?: number;
  ttlMax?: number;
  /** Zone the service names live under: counts toward the 255-byte limit. */
  zone?: string;
}

const LABEL_RE = /^[A-Za-z0-9_-]{1,63}$/;
const VERSION_RE = /^[A-Za-z0-9_.-]+$/;
/** Words that mean "any" in a pattern, so they cannot be concrete values. */
const WILDCARDS = new Set(['any', '*']);

function invalid(path: string, message: string): never {
  throw new SkyError('SKY_ERR_REGISTRY_INVALID', message, { path });
}

/**
 * Collects the rejections of independent field checks, so one error reports
 * every missing or invalid field (`skydns register` without --version,
 * --environment and --region hears about all three at once).
 */
class Problems {
  private readonly list: SkyError[] = [];

  /** Runs one field's check; a rejection is kept and `undefined` returned. */
  check<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof SkyError)) throw e;
      this.list.push(e);
      return undefined;
    }
  }

  /** Throws the one rejection as it is, or several as one error naming the first field. */
  throwIfAny(): void {
    if (this.list.length === 0) return;
    if (this.list.length === 1) throw this.list[0]!;
    const problems = this.list.map((e) => ({ path: e.path ?? '', message: e.message }));
    throw new SkyError('SKY_ERR_REGISTRY_INVALID', `${this.list.length} fields are invalid: ${problems.map((p) => p.message).join('; ')}`, { path: problems[0]!.path, problems });
  }
}

/** A single DNS label: 1–63 bytes of letters, digits, '-' and '_' (no dots). */
export function isLabel(s: string): boolean {
  return LABEL_RE.test(s);
}

/** A hostname: dot-separated labels of at most 63 bytes, at most 255 bytes in all. */
export function isHostname(s: string): boolean {
  const h = s.endsWith('.') ? s.slice(0, -1) : s;
  if (h.length === 0 || h.length > MAX_NAME) return false;
  return h.split('.').every(isLabel);
}

/** A value as it appears in a DNS label: lowercased, '.' and ':' become '-'. */
export function toLabel(value: string): string {
  return value.toLowerCase().replace(/[.:]/g, '-');
}

/** Registry key of a UUID: UUIDs are DNS labels, hence case-insensitive. */
export function uuidKey(uuid: string): string {
  return uuid.toLowerCase();
}

/**
 * The six labels of a service keyed by field, computed on each call. The
 * registry's index keeps them for every stored record (computed once, at
 * insertion), so lookups do not call this per record; a cache keyed by the
 * record (a WeakMap) cost an ephemeron per record and GC work at 100k.
 */
export function labelsOf(s: Service): Record<FieldName, string> {
  return {
    uuid: toLabel(s.UUID),
    host: toLabel(s.Host),
    region: toLabel(s.Region),
    version: toLabel(s.Version),
    name: toLabel(s.Name),
    environment: toLabel(s.Environment),
  };
}

/**
 * How many distinct service names (environment and name labels) `services`
 * hold: what answer caches size themselves by (a name is asked as SRV and as A).
 */
export function distinctServiceNames(services: Iterable<Service>): number {
  const seen = new Set<string>();
  for (const s of services) seen.add(`${toLabel(s.Name)}.${toLabel(s.Environment)}`);
  return seen.size;
}

/** The labels in `order` (default: [uuid, host, region, version, name, environment]). */
export function serviceLabels(s: Service, order: readonly FieldName[] = DEFAULT_ORDER): string[] {
  const l = labelsOf(s);
  return order.map((f) => l[f]);
}

/** The full DNS name of a service under `zone`, without a trailing dot. */
export function serviceName(s: Service, zone: string = DEFAULT_ZONE, order: readonly FieldName[] = DEFAULT_ORDER): string {
  const z = zone.replace(/\.$/, '');
  return [...serviceLabels(s, order), ...(z ? [z.toLowerCase()] : [])].join('.');
}

/** Wire length of a name given as labels plus a zone: each label costs len+1, plus the root byte. */
function wireLength(labels: string[], zone: string): number {
  const z = zone.replace(/\.$/, '');
  const zl = z ? z.split('.') : [];
  return [...labels, ...zl].reduce((n, l) => n + Buffer.byteLength(l) + 1, 1);
}

function str(input: Record<string, unknown>, field: string, required = true): string | undefined {
  const v = input[field];
  if (v === undefined || v === null || v === '') {
    if (required) invalid(field, `${field} is required`);
    return undefined;
  }
  if (typeof v !== 'string') invalid(field, `${field} must be a string`);
  return v;
}

function label(input: Record<string, unknown>, field: string, required = true): string | undefined {
  const v = str(input, field, required);
  if (v === undefined) return undefined;
  if (Buffer.byteLength(v) > MAX_LABEL) invalid(field, `${field} is ${Buffer.byteLength(v)} bytes; a DNS label holds at most 63`);
  if (!isLabel(v)) invalid(field, `${field} must be a single DNS label (letters, digits, '-' or '_', no dots): ${JSON.stringify(v)}`);
  return v;
}

function int(input: Record<string, unknown>, field: string, min: number, max: number, required: boolean): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (required) invalid(field, `${field} is required`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    invalid(field, `${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks a TTL against the configured bounds (SKY_ERR_REGISTRY_INVALID at `path`). */
export function validateTtl(ttl: unknown, opts: ValidationOptions = {}, path = 'TTL'): number {
  return int({ [path]: ttl }, path, opts.ttlMin ?? DEFAULT_TTL_MIN, opts.ttlMax ?? DEFAULT_TTL_MAX, true)!;
}

function host(input: Record<string, unknown>, field: string, required = true): string | undefined {
  const v = str(input, field, required);
  if (v === undefined) return undefined;
  if (isIP(v)) return v;
  if (!isHostname(v)) invalid(field, `${field} must be an IPv4/IPv6 address or a hostname (labels of at most 63 bytes, 255 in all): ${JSON.stringify(v)}`);
  return v.replace(/\.$/, '');
}

function notWildcard(field: string, v: string | undefined): void {
  if (v !== undefined && WILDCARDS.has(v.toLowerCase())) invalid(field, `${field} cannot be "${v}": it means "any" in queries`);
}

function asObject(input: unknown, what: string): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) invalid('', `${what} must be a JSON object`);
  return input as Record<string, unknown>;
}

/**
 * Validates an incoming registration and returns a clean copy holding only the
 * known fields. NoExpire services may omit TTL (it becomes 0); a TTL they do
 * give is still bounds-checked.
 */
export function validateService(input: unknown, opts: ValidationOptions = {}): Service {
  const o = asObject(input, 'a service');
  const p = new Problems();
  const noExpire = o.NoExpire;
  p.check(() => {
    if (noExpire !== undefined && typeof noExpire !== 'boolean') invalid('NoExpire', 'NoExpire must be a boolean');
  });
  const labelField = (f: 'UUID' | 'Name' | 'Environment' | 'Region'): string => {
    const v = label(o, f)!;
    notWildcard(f, v);
    return v;
  };
  // Every field is checked (in SkyDNS 1's field order) and all rejections are reported together.
  const s: Service = {
    UUID: p.check(() => labelField('UUID'))!,
    Name: p.check(() => labelField('Name'))!,
    Version: p.check(() => {
      const v = str(o, 'Version')!;
      if (!VERSION_RE.test(v)) invalid('Version', `Version may hold only letters, digits, '.', '-' and '_': ${JSON.stringify(v)}`);
      notWildcard('Version', v);
      return v;
    })!,
    Environment: p.check(() => labelField('Environment'))!,
    Region: p.check(() => labelField('Region'))!,
    Host: p.check(() => host(o, 'Host'))!,
    Port: p.check(() => int(o, 'Port', 1, 65535, true))!,
    TTL: p.check(() => (noExpire === true && (o.TTL === undefined || o.TTL === 0) ? 0 : validateTtl(o.TTL, opts)))!,
  };
  const priority = p.check(() => int(o, 'Priority', 0, 65535, false));
  const weight = p.check(() => int(o, 'Weight', 0, 65535, false));
  p.throwIfAny();
  if (priority !== undefined) s.Priority = priority;
  if (weight !== undefined) s.Weight = weight;
  if (noExpire === true) s.NoExpire = true;

  // Host and Version become one label each once their dots are replaced.
  const labels = labelsOf(s);
  const asLabels = new Problems();
  for (const [f, field] of [['host', 'Host'], ['version', 'Version']] as const) {
    const n = Buffer.byteLength(labels[f]);
    asLabels.check(() => {
      if (n > MAX_LABEL) invalid(field, `${field} becomes the DNS label "${labels[f].slice(0, 20)}…" of ${n} bytes; a label holds at most 63`);
    });
  }
  asLabels.throwIfAny();
  const zone = opts.zone ?? DEFAULT_ZONE;
  const total = wireLength(serviceLabels(s), zone);
  if (total > MAX_NAME) {
    const longest = (['UUID', 'Host', 'Region', 'Version', 'Name', 'Environment'] as const)
      .reduce((a, b) => (s[b].length > s[a].length ? b : a));
    invalid(longest, `the service's DNS name under ${zone} would be ${total} bytes, over 255 (longest field: ${longest})`);
  }
  return s;
}

/**
 * Validates a callback registration. `Name` is required; the other filters are
 * optional (empty, `any` or `*` are stored as absent).
 */
export function validateCallback(input: unknown): Callback {
  const o = asObject(input, 'a callback');
  const p = new Problems();
  const cb: Callback = {
    UUID: p.check(() => label(o, 'UUID'))!,
    Name: p.check(() => label(o, 'Name'))!,
    Reply: p.check(() => host(o, 'Reply'))!,
    Port: p.check(() => int(o, 'Port', 1, 65535, true))!,
  };
  const filter = (f: 'Version' | 'Environment' | 'Region' | 'Host'): void => {
    const raw = o[f];
    if (typeof raw === 'string' && WILDCARDS.has(raw.toLowerCase())) return;
    const v = p.check(() => {
      const v = f === 'Host' ? host(o, f, false) : f === 'Version' ? str(o, f, false) : label(o, f, false);
      if (f === 'Version' && v !== undefined && !VERSION_RE.test(v)) invalid('Version', `Version may hold only letters, digits, '.', '-' and '_'`);
      return v;
    });
    if (v !== undefined) cb[f] = v;
  };
  filter('Version');
  filter('Environment');
  filter('Region');
  filter('Host');
  p.throwIfAny();
  return cb;
}
