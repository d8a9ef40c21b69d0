/** The cache plugin's options: schema (defaults filled by the Skyfile loader) and types. */
import { durationSchema, type Duration } from '../../src/config/duration.js';

export interface CacheOptions {
  capacity: number;
  denialCapacity: number;
  maxTtl: number;
  denialMaxTtl: number;
  minTtl: number;
  servfailTtl: number;
  prefetch: { amount: number; duration: Duration; percentage: number };
  serveStale: { enabled: boolean; maxStale: Duration; clientTimeout: Duration };
}

const seconds = (dflt: number, description: string, maximum?: number) => ({
  type: 'integer',
  minimum: 0,
  ...(maximum === undefined ? {} : { maximum }),
  default: dflt,
  description: `${description}, seconds`,
});

export const cacheSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    capacity: { type: 'integer', minimum: 1, default: 10000, description: 'positive answers kept (least recently used go first)' },
    denialCapacity: { type: 'integer', minimum: 1, default: 5000, description: 'NXDOMAIN, NODATA and SERVFAIL replies kept' },
    maxTtl: seconds(3600, 'longest time a positive answer is kept'),
    denialMaxTtl: seconds(1800, 'longest time a negative answer is kept'),
    minTtl: seconds(5, 'shortest time an answer is kept, whatever its TTL'),
    servfailTtl: seconds(5, 'time a SERVFAIL is kept (0: never cached; RFC 2308 allows at most 5 minutes)', 300),
    prefetch: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        amount: { type: 'integer', minimum: 0, default: 0, description: 'hits that make an entry popular (0: no prefetch)' },
        duration: durationSchema('1m', 'longest gap between hits for them to count together'),
        percentage: { type: 'integer', minimum: 1, maximum: 100, default: 10, description: 'refresh when this share of the TTL is left' },
      },
    },
    serveStale: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false, description: 'serve expired answers when the rest of the chain fails (RFC 8767)' },
        maxStale: durationSchema('1h', 'how long past expiry an answer may still be served'),
        clientTimeout: durationSchema('1800ms', 'how long a client waits for a refresh before it gets the stale answer'),
      },
    },
  },
} as const;
