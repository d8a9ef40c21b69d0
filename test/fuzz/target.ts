/**
 * The server the fuzzers aim at: skydns + synth over an embedded registry
 * holding a handful of services (addresses, a hostname, IPv6, several regions,
 * a reverse zone), so mutated queries reach the zone lookups, SRV building,
 * synthesis and PTR paths, not only the parser. Error log lines are kept:
 * a plugin failing on some input is a finding even when the client gets SERVFAIL.
 */
import { createLogger } from '../../src/logger.js';
import type { Service } from '../../src/registry/types.js';
import { startServer, type TestServer } from '../../src/testing/server.js';
import { FUZZ_ZONE } from './corpus.js';

export const FUZZ_SERVICES: Service[] = [
  { UUID: 'fuzz-1', Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 8080, TTL: 3600 },
  { UUID: 'fuzz-2', Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.2', Port: 8080, TTL: 3600 },
  { UUID: 'fuzz-3', Name: 'web', Version: '2.0', Environment: 'production', Region: 'west', Host: 'fd00::3', Port: 8443, TTL: 3600, Weight: 50 },
  { UUID: 'fuzz-4', Name: 'web', Version: '2.0', Environment: 'production', Region: 'west', Host: 'web4.example.org', Port: 80, TTL: 3600 },
  { UUID: 'fuzz-5', Name: 'db', Version: '9', Environment: 'staging', Region: 'east', Host: '10.1.0.5', Port: 5432, TTL: 3600, Priority: 5 },
];

export interface FuzzTarget {
  srv: TestServer;
  /** Error-level log lines the server wrote (pino JSON). */
  errors: string[];
  stop(): Promise<void>;
}

/** `extraChain` entries go in front of skydns and synth (e.g. acl, ratelimit). */
export async function startFuzzTarget(extraChain: unknown[] = []): Promise<FuzzTarget> {
  const errors: string[] = [];
  const logger = createLogger('error', { write: (line: string) => void errors.push(line) });
  const srv = await startServer(
    JSON.stringify({
      registry: { fsync: false },
      chain: [...extraChain, { skydns: { zone: FUZZ_ZONE, ptrZones: ['10.in-addr.arpa'] } }, { synth: { zone: FUZZ_ZONE } }],
    }),
    { logger },
  );
  const registry = await srv.app.registry();
  for (const s of FUZZ_SERVICES) await registry.put(s);
  return { srv, errors, stop: () => srv.stop() };
}
