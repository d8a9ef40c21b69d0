/**
 * The skydns plugin's options: the JSON schema the Skyfile is checked against,
 * and `resolveOptions`, which turns validated options into the zone's settings
 * (names lowercased without trailing dots, SOA names derived from the zone).
 */
import { isIP } from 'node:net';
import { SkyError } from '../../src/errors.js';
import { DEFAULT_ORDER } from '../../src/registry/names.js';
import type { FieldName } from '../../src/registry/types.js';

export interface SoaOptions {
  /** Primary name server (SOA MNAME and the apex NS target). Default `ns.dns.<zone>`. */
  ns?: string;
  /** Responsible mailbox as a name (SOA RNAME). Default `hostmaster.<zone>`. */
  hostmaster?: string;
  ttl: number;
  refresh: number;
  retry: number;
  expire: number;
  /** RFC 2308: the TTL of negative answers is min(SOA TTL, minimum). */
  minimum: number;
}

export interface SkydnsOptions {
  zone: string;
  order: FieldName[];
  minTtl: number;
  maxTtl: number;
  soa: SoaOptions;
  ptrZones: string[];
  nsAddress?: string | string[];
  addresses: 'next' | 'none';
  /** Pre-encoded answers kept (0: none; "auto": max(4096, 2 × the registry's service names)). */
  wireCache: number | 'auto';
}

const FIELDS: FieldName[] = ['uuid', 'host', 'region', 'version', 'name', 'environment'];
const NAME = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9_.-]+$' };
const SECONDS = { type: 'integer', minimum: 0, maximum: 2147483647 };

export const skydnsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    zone: { ...NAME, default: 'skydns.local', description: 'the zone this plugin is authoritative for' },
    order: {
      type: 'array',
      items: { enum: FIELDS },
      minItems: 1,
      maxItems: 6,
      uniqueItems: true,
      default: [...DEFAULT_ORDER],
      description: 'service fields as labels, most specific first',
    },
    minTtl: { ...SECONDS, default: 1, description: 'smallest TTL in an answer, seconds' },
    maxTtl: { ...SECONDS, minimum: 1, default: 3600, description: 'largest TTL in an answer, seconds' },
    soa: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ns: NAME,
        hostmaster: NAME,
        ttl: { ...SECONDS, default: 300 },
        refresh: { ...SECONDS, default: 7200 },
        retry: { ...SECONDS, default: 1800 },
        expire: { ...SECONDS, default: 86400 },
        minimum: { ...SECONDS, default: 30 },
      },
    },
    ptrZones: { type: 'array', items: NAME, uniqueItems: true, default: [], description: 'reverse zones answered with PTR records' },
    nsAddress: {
      anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }],
      description: 'A/AAAA of the name server name',
    },
    addresses: {
      enum: ['next', 'none'],
      default: 'next',
      description: 'next: A/AAAA/CNAME of service names go to the next plugin (synth); none: NODATA here',
    },
    wireCache: {
      anyOf: [{ const: 'auto' }, { type: 'integer', minimum: 0 }],
      default: 'auto',
      description: 'pre-encoded answers kept; "auto": max(4096, 2 × the distinct service names registered)',
    },
  },
} as const;

/** The settings the zone is served with. Every name is lowercase, without a trailing dot. */
export interface ZoneConfig {
  zone: string;
  order: readonly FieldName[];
  minTtl: number;
  maxTtl: number;
  soa: Required<SoaOptions>;
  ptrZones: string[];
  nsAddresses: string[];
  addresses: 'next' | 'none';
  wireCache: number | 'auto';
}

function normName(n: string): string {
  return n.toLowerCase().replace(/\.$/, '');
}

function invalid(path: string, message: string): never {
  throw new SkyError('SKY_ERR_CONFIG_INVALID', `skydns.${path}: ${message}`, { path: `skydns.${path}` });
}

export function resolveOptions(o: SkydnsOptions): ZoneConfig {
  const zone = normName(o.zone);
  if (zone === '' || zone.split('.').some((l) => l === '' || l.length > 63)) invalid('zone', `not a domain name: ${JSON.stringify(o.zone)}`);
  if (o.minTtl > o.maxTtl) invalid('minTtl', `minTtl (${o.minTtl}) is larger than maxTtl (${o.maxTtl})`);
  const nsAddresses = o.nsAddress === undefined ? [] : Array.isArray(o.nsAddress) ? o.nsAddress : [o.nsAddress];
  for (const a of nsAddresses) if (!isIP(a)) invalid('nsAddress', `not an IPv4/IPv6 address: ${JSON.stringify(a)}`);
  const ptrZones = o.ptrZones.map(normName);
  for (const z of ptrZones) {
    if (!z.endsWith('in-addr.arpa') && !z.endsWith('ip6.arpa')) invalid('ptrZones', `${z} is not under in-addr.arpa or ip6.arpa`);
  }
  return {
    zone,
    order: [...o.order],
    minTtl: o.minTtl,
    maxTtl: o.maxTtl,
    soa: {
      ...o.soa,
      ns: normName(o.soa.ns ?? `ns.dns.${zone}`),
      hostmaster: normName(o.soa.hostmaster ?? `hostmaster.${zone}`),
    },
    ptrZones,
    nsAddresses,
    addresses: o.addresses,
    wireCache: o.wireCache,
  };
}
