/**
 * The Skyfile's `registry` section and the factory that turns it into a
 * Registry. Only the embedded backend exists today; `etcd` is accepted by the
 * enum so configs can name it, and is refused with SKY_ERR_REGISTRY_UNAVAILABLE
 * until that backend lands (it will bring its own options, e.g. `endpoints`:
 * the schema will then become a `oneOf` on `backend`).
 */
import { isAbsolute, resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { SkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { EmbeddedRegistry } from './embedded.js';
import { DEFAULT_TTL_MAX, DEFAULT_TTL_MIN } from './names.js';
import type { Registry } from './types.js';

export interface RegistryOptions {
  backend?: 'embedded' | 'etcd';
  /** Data directory, relative to the Skyfile's directory (default ./data). */
  path?: string;
  ttlMin?: number;
  ttlMax?: number;
  snapshotEvery?: number;
  fsync?: boolean;
}

export const registrySchema = {
  type: 'object',
  description: 'Where services are stored. embedded: one node, durable on local disk.',
  additionalProperties: false,
  default: {},
  properties: {
    backend: { enum: ['embedded', 'etcd'], default: 'embedded', description: 'etcd is not available yet' },
    path: { type: 'string', minLength: 1, default: './data', description: 'data directory (embedded)' },
    ttlMin: { type: 'integer', minimum: 0, default: DEFAULT_TTL_MIN, description: 'smallest TTL a service may register with, seconds' },
    ttlMax: { type: 'integer', minimum: 1, default: DEFAULT_TTL_MAX, description: 'largest TTL, seconds' },
    snapshotEvery: { type: 'integer', minimum: 1, default: 10000, description: 'log records between snapshots' },
    fsync: { type: 'boolean', default: true, description: 'fsync every write before acknowledging it' },
  },
} as const;

export interface RegistryContext {
  clock: Clock;
  logger: Logger;
  /** Directory a relative `path` is resolved against (the Skyfile's directory). */
  baseDir: string;
  /** DNS zone, used to check that service names fit 255 bytes. */
  zone?: string;
}

/** Builds the configured backend. The caller starts it (`await registry.start()`). */
export function createRegistry(opts: RegistryOptions, ctx: RegistryContext): Registry {
  const backend = opts.backend ?? 'embedded';
  if (backend === 'etcd') {
    throw new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the etcd registry backend is not available yet; use backend: "embedded"', { path: 'registry.backend' });
  }
  const ttlMin = opts.ttlMin ?? DEFAULT_TTL_MIN;
  const ttlMax = opts.ttlMax ?? DEFAULT_TTL_MAX;
  if (ttlMin > ttlMax) {
    throw new SkyError('SKY_ERR_CONFIG_INVALID', `registry.ttlMin (${ttlMin}) is larger than registry.ttlMax (${ttlMax})`, { path: 'registry.ttlMin' });
  }
  const path = opts.path ?? './data';
  return new EmbeddedRegistry({
    path: isAbsolute(path) ? path : resolve(ctx.baseDir, path),
    clock: ctx.clock,
    logger: ctx.logger,
    ttlMin,
    ttlMax,
    snapshotEvery: opts.snapshotEvery ?? 10000,
    fsync: opts.fsync ?? true,
    zone: ctx.zone,
  });
}
