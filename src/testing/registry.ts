/**
 * A registry for plugin tests: the real embedded store (the same index,
 * validation, TTL expiry and change events as a server), in a temporary
 * directory removed by `close()`. Give it the test's ManualClock to expire
 * records without waiting.
 *
 *   const registry = await memoryRegistry({ clock });
 *   await registry.put({ UUID: 'a1', Name: 'web', ... });
 *   const p = await setupPlugin(myFactory, {}, { registryInstance: registry, clock });
 *   ...
 *   await registry.close();
 */
import { scratchRegistry, type ScratchRegistryOptions } from '../registry/scratch.js';
import type { Registry } from '../registry/types.js';

export type MemoryRegistryOptions = ScratchRegistryOptions;
export type { Registry, Service, StoredService } from '../registry/types.js';

/** A started registry; `close()` it at the end of the test. */
export async function memoryRegistry(o: MemoryRegistryOptions = {}): Promise<Registry> {
  const r = scratchRegistry(o);
  await r.start();
  return r;
}
