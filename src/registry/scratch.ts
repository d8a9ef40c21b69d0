/**
 * A throwaway registry: the real embedded store (same index, validation,
 * expiry and events as `serve`), kept in a fresh temporary directory without
 * fsync and deleted on close. For tests (`memoryRegistry` in skydns/testing)
 * and for `skydns check`, which sets plugins up without touching the
 * configured registry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../logger.js';
import { EmbeddedRegistry } from './embedded.js';
import type { Registry } from './types.js';

export interface ScratchRegistryOptions {
  clock?: Clock;
  logger?: Logger;
  ttlMin?: number;
  ttlMax?: number;
  /** Zone used for the 255-byte service name check (default skydns.local). */
  zone?: string;
}

/** An embedded registry in a new temporary directory; `close()` removes the directory. Not started. */
export function scratchRegistry(o: ScratchRegistryOptions = {}): Registry {
  const dir = mkdtempSync(join(tmpdir(), 'skydns-registry-'));
  const reg = new EmbeddedRegistry({ path: dir, clock: o.clock ?? systemClock, logger: o.logger ?? silentLogger, ttlMin: o.ttlMin, ttlMax: o.ttlMax, zone: o.zone, fsync: false });
  const close = reg.close.bind(reg);
  reg.close = async () => {
    try {
      await close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return reg;
}
