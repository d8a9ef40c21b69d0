/**
 * Test support for the skydns plugin (not a test file): the plugin over a real
 * embedded registry in a temp dir, on a ManualClock, queried without sockets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/logger.js';
import type { Next, Plugin } from '../../src/plugin.js';
import { EmbeddedRegistry } from '../../src/registry/embedded.js';
import type { Service } from '../../src/registry/types.js';
import { runPlugin, setupPlugin, type TestQuery, type TestReply } from '../../src/testing/harness.js';
import skydns from './index.js';

export interface ZoneFixture {
  clock: ManualClock;
  registry: EmbeddedRegistry;
  plugin: Plugin;
  /** Runs the query through the plugin; `next` stands for the rest of the chain (default: fall off, REFUSED). */
  query(name: string, type: string, extra?: Partial<TestQuery>, next?: Next): Promise<TestReply>;
  put(...services: Service[]): Promise<void>;
  close(): Promise<void>;
}

/** A registration with defaults: web 1.0.1 in production, region east, 10.0.0.1:8080, TTL 30. */
export function svc(uuid: string, over: Partial<Service> = {}): Service {
  return { UUID: uuid, Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 8080, TTL: 30, ...over };
}

export async function zoneFixture(opts: Record<string, unknown> = {}, services: Service[] = []): Promise<ZoneFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-zone-'));
  const clock = new ManualClock();
  const registry = new EmbeddedRegistry({ path: dir, clock, logger: silentLogger, fsync: false });
  await registry.start();
  let plugin: Plugin;
  try {
    for (const s of services) await registry.put(s);
    plugin = await setupPlugin(skydns, opts, { clock, registryInstance: registry });
  } catch (err) {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    clock,
    registry,
    plugin,
    query: (name, type, extra = {}, next) => runPlugin(plugin, { name, type, ...extra }, next, clock),
    async put(...list) {
      for (const s of list) await registry.put(s);
    },
    async close() {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
