/** The dnssec plugin's options: schema (defaults filled by the Skyfile loader) and types. */

export interface DnssecOptions {
  /** Zones signed; absent: the zones the keys are for. */
  zones?: string[];
  /** Key pairs, `K<zone>.+<alg>+<tag>` (with or without .key/.private), relative to the Skyfile. */
  keys: string[];
  capacity: number;
  dnskeyTtl: number;
}

const ZONE = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9_-][A-Za-z0-9_.-]*$' };

export const dnssecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['keys'],
  properties: {
    zones: { type: 'array', minItems: 1, items: ZONE, description: 'zones to sign (default: the zones of the keys)' },
    keys: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description: 'BIND key pairs from dnssec-keygen, "Kzone.+alg+tag" (the .key and .private files), relative to the Skyfile',
    },
    capacity: { type: 'integer', minimum: 1, default: 10000, description: 'signatures kept in the signature cache' },
    dnskeyTtl: { type: 'integer', minimum: 0, maximum: 86400, default: 3600, description: 'TTL of the DNSKEY RRset, seconds' },
  },
} as const;
