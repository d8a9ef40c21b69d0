/**
 * The Skyfile's `registry` section and the factory that turns it into a
 * Registry: `embedded` (one node, durable on local disk: path, snapshotEvery,
 * fsync) or `etcd` (a cluster of SkyDNS nodes sharing an etcd cluster:
 * endpoints, prefix, tls, auth, dialTimeoutMs, callTimeoutMs). One flat schema
 * keeps the keys of both; each backend ignores the other's. The etcd keys have
 * no schema defaults (so an embedded config stays as it was): the factory
 * applies them.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { SkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { EmbeddedRegistry } from './embedded.js';
import { EtcdRegistry } from './etcd.js';
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
  /** etcd client endpoints (host:port or http(s)://host:port); default 127.0.0.1:2379. */
  endpoints?: string[];
  /** etcd key prefix (default /skydns). */
  prefix?: string;
  /** PEM files, relative to the Skyfile's directory. */
  tls?: { ca?: string; cert?: string; key?: string };
  auth?: { username: string; password: string };
  /** How long start waits for the first full list from etcd (default 5000). */
  dialTimeoutMs?: number;
  /** Deadline of each etcd call (default 3000). */
  callTimeoutMs?: number;
  /** How often each etcd member is probed (default 1000). */
  probeIntervalMs?: number;
  /** No news from etcd for longer than this: the node cannot vouch for its copy (default 3000). */
  staleAfterMs?: number;
  /** Records that expire while the node cannot vouch: "serve" them (default) or let them go ("servfail"). */
  stale?: 'serve' | 'servfail';
  /** How long past its expiry such a record is served, seconds (default 86400). */
  maxStaleSeconds?: number;
}

const pem = { type: 'string', minLength: 1 } as const;

export const registrySchema = {
  type: 'object',
  description: 'Where services are stored. embedded: one node, durable on local disk; etcd: a cluster of SkyDNS nodes sharing etcd.',
  additionalProperties: false,
  default: {},
  properties: {
    backend: { enum: ['embedded', 'etcd'], default: 'embedded', description: 'embedded (one node, local disk) or etcd (a cluster)' },
    path: { type: 'string', minLength: 1, default: './data', description: 'data directory (embedded)' },
    ttlMin: { type: 'integer', minimum: 0, default: DEFAULT_TTL_MIN, description: 'smallest TTL a service may register with, seconds' },
    ttlMax: { type: 'integer', minimum: 1, default: DEFAULT_TTL_MAX, description: 'largest TTL, seconds' },
    snapshotEvery: { type: 'integer', minimum: 1, default: 10000, description: 'log records between snapshots' },
    fsync: { type: 'boolean', default: true, description: 'fsync every write before acknowledging it' },
    endpoints: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'etcd client URLs, host:port or http(s)://host:port (etcd; default ["127.0.0.1:2379"])' },
    prefix: { type: 'string', pattern: '^/?[^/]', description: 'etcd key prefix (etcd; default "/skydns")' },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['ca'],
      properties: { ca: { ...pem, description: 'CA bundle (PEM file)' }, cert: { ...pem, description: 'client certificate (PEM file)' }, key: { ...pem, description: 'client key (PEM file)' } },
      description: 'TLS to etcd (etcd); paths relative to the Skyfile',
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      required: ['username', 'password'],
      properties: { username: { type: 'string', minLength: 1 }, password: { type: 'string' } },
      description: 'etcd user and password (etcd)',
    },
    dialTimeoutMs: { type: 'integer', minimum: 1, maximum: 600_000, description: 'how long start waits for the first full list from etcd before serving (etcd; default 5000)' },
    callTimeoutMs: { type: 'integer', minimum: 1, maximum: 600_000, description: 'deadline of each etcd call (etcd; default 3000)' },
    probeIntervalMs: { type: 'integer', minimum: 100, maximum: 60_000, description: 'how often each etcd member is probed (etcd; default 1000)' },
    staleAfterMs: { type: 'integer', minimum: 100, maximum: 3_600_000, description: 'without news from etcd for this long a node cannot vouch for its copy: negative answers become SERVFAIL (etcd; default 3000)' },
    stale: { enum: ['serve', 'servfail'], description: 'records that expire while the node cannot vouch for its copy: serve them (RFC 8767) or let them go (etcd; default "serve")' },
    maxStaleSeconds: { type: 'integer', minimum: 0, maximum: 31_536_000, description: 'how long past its expiry such a record is served (etcd; default 86400)' },
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
  const ttlMin = opts.ttlMin ?? DEFAULT_TTL_MIN;
  const ttlMax = opts.ttlMax ?? DEFAULT_TTL_MAX;
  if (ttlMin > ttlMax) {
    throw new SkyError('SKY_ERR_CONFIG_INVALID', `registry.ttlMin (${ttlMin}) is larger than registry.ttlMax (${ttlMax})`, { path: 'registry.ttlMin' });
  }
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(ctx.baseDir, p));
  if (backend === 'etcd') {
    if (opts.tls && (opts.tls.cert === undefined) !== (opts.tls.key === undefined)) {
      throw new SkyError('SKY_ERR_CONFIG_INVALID', 'registry.tls needs both cert and key, or neither', { path: 'registry.tls' });
    }
    const tls = opts.tls && { ca: opts.tls.ca && abs(opts.tls.ca), cert: opts.tls.cert && abs(opts.tls.cert), key: opts.tls.key && abs(opts.tls.key) };
    return new EtcdRegistry({
      endpoints: opts.endpoints ?? ['127.0.0.1:2379'],
      prefix: opts.prefix ?? '/skydns',
      tls,
      auth: opts.auth,
      dialTimeoutMs: opts.dialTimeoutMs ?? 5000,
      callTimeoutMs: opts.callTimeoutMs ?? 3000,
      probeIntervalMs: opts.probeIntervalMs ?? 1000,
      staleAfterMs: opts.staleAfterMs ?? 3000,
      stale: opts.stale ?? 'serve',
      maxStaleSeconds: opts.maxStaleSeconds ?? 86400,
      clock: ctx.clock,
      logger: ctx.logger,
      ttlMin,
      ttlMax,
      zone: ctx.zone,
    });
  }
  const path = opts.path ?? './data';
  return new EmbeddedRegistry({
    path: abs(path),
    clock: ctx.clock,
    logger: ctx.logger,
    ttlMin,
    ttlMax,
    snapshotEvery: opts.snapshotEvery ?? 10000,
    fsync: opts.fsync ?? true,
    zone: ctx.zone,
  });
}
