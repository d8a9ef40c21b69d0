#!/usr/bin/env node
/**
 * A quick A/B check while working on the hot path: only the SkyDNS rows (authoritative and
 * with cache), one saturation run each, no bind9/unbound. Not a result to quote — the
 * suite (run.sh) is — but enough to see whether a change moved QPS and CPU per query.
 *
 *   node bench/quick.mjs [--rows auth,cache] [--services 50] [--instances 20] [--duration 8]
 *                        [--runs 1] [--port-base 15400] [--bin PATH/bin/skydns] [--pin]
 *
 * `--pin`: the server on CPU 1, dnsperf on CPU 0 (as the suite does; see lib/proc.mjs pin).
 *
 * `--bin` runs another tree's build (e.g. a worktree) against the same data.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { instances, queryFile } from './lib/data.mjs';
import { dnsperf } from './lib/dnsperf.mjs';
import { loadavg, pin } from './lib/proc.mjs';
import { putAll } from './lib/register.mjs';
import { startSkydns, stopAll } from './lib/servers.mjs';
import { fmt, fmtInt } from './lib/stats.mjs';

const { values: o } = parseArgs({
  options: {
    rows: { type: 'string', default: 'auth,cache' },
    services: { type: 'string', default: '50' },
    instances: { type: 'string', default: '20' },
    duration: { type: 'string', default: '8' },
    runs: { type: 'string', default: '1' },
    'port-base': { type: 'string', default: '15400' },
    bin: { type: 'string' },
    qps: { type: 'string' },
    pin: { type: 'boolean', default: false },
  },
});
const N = Number(o.services);
const M = Number(o.instances);
const BASE = Number(o['port-base']);
const dir = fileURLToPath(new URL(`./results/tmp/quick-${new Date().toISOString().replace(/[:.]/g, '-')}`, import.meta.url));
await mkdir(dir, { recursive: true });
const queries = join(dir, 'queries.txt');
await writeFile(queries, queryFile(N));
const data = [...instances(N, M)];

const all = {
  auth: { port: BASE, api: BASE + 10, chain: (api) => [{ api: { listen: `127.0.0.1:${api}` } }, 'skydns', 'synth'] },
  cache: { port: BASE + 1, api: BASE + 11, chain: (api) => ['cache', { api: { listen: `127.0.0.1:${api}` } }, 'skydns', 'synth'] },
};
try {
  for (const id of o.rows.split(',')) {
    const row = all[id];
    if (!row) throw new Error(`unknown row ${id}`);
    const server = await startSkydns({ name: id, dir, port: row.port, chain: row.chain(row.api), bin: o.bin });
    await putAll(`http://127.0.0.1:${row.api}`, data, 64);
    if (o.pin) pin(server.pid, '1');
    const cpus = o.pin ? '0' : undefined;
    await dnsperf({ port: row.port, file: queries, maxRuns: 1, clients: 1, outstanding: 10, cpus });
    await dnsperf({ port: row.port, file: queries, seconds: 2, cpus });
    for (let i = 0; i < Number(o.runs); i++) {
      const r = await dnsperf({ port: row.port, file: queries, seconds: Number(o.duration), pid: server.pid, qps: o.qps ? Number(o.qps) : undefined, cpus });
      const lat = o.qps ? ` p50 ${fmt(r.p50Ms, 2)} p99 ${fmt(r.p99Ms, 2)} ms` : '';
      process.stdout.write(`${id}: ${fmtInt(r.qps)} QPS, ${fmt(r.cpuUsPerQuery, 1)} µs/q, lost ${r.lost}, avg ${fmt(r.avgMs, 2)} ms${lat}, RSS ${fmt(r.rssMiB)} MiB, load ${r.load}\n`);
    }
  }
} finally {
  await stopAll();
}
