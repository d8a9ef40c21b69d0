/**
 * Test support for the api plugin (not a test file): a fastify instance over a
 * real embedded registry in a temp dir, on a ManualClock, driven by inject().
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/logger.js';
import { EmbeddedRegistry } from '../../src/registry/embedded.js';
import type { Registry } from '../../src/registry/types.js';
import { buildApi, type ApiServerOptions } from './server.js';

export interface Fixture {
  app: FastifyInstance;
  registry: Registry;
  clock: ManualClock;
  call(o: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** A valid registration body (no UUID: the path's is used). */
export function body(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 8080, TTL: 30, ...over };
}

/**
 * Builds the API. `wrap` may replace the registry the routes see (to simulate
 * a backend that is unavailable or failing).
 */
export async function fixture(opts: Partial<ApiServerOptions> = {}, wrap?: (r: Registry) => Registry): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-api-'));
  const clock = new ManualClock();
  const registry = new EmbeddedRegistry({ path: dir, clock, logger: silentLogger, fsync: false });
  await registry.start();
  const app = await buildApi({ clock, logger: silentLogger, ...opts, registry: wrap ? wrap(registry) : registry });
  return {
    app,
    registry,
    clock,
    call: (o) => app.inject(o),
    async close() {
      await app.close();
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Asserts an error answer: status, `code`, and (when given) `field`. */
export function expectError(res: LightMyRequestResponse, status: number, code: string, field?: string): { error: string; code: string; field?: string } {
  assert.equal(res.statusCode, status, `status (body: ${res.body})`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const b = res.json() as { error: string; code: string; field?: string };
  assert.equal(b.code, code, `code (body: ${res.body})`);
  assert.equal(typeof b.error, 'string');
  assert.ok(b.error.length > 0);
  if (field !== undefined) assert.equal(b.field, field, `field (body: ${res.body})`);
  return b;
}
