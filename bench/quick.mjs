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
 * Rows: auth, cache, fwd (forward without cache to a bind9 started here, bind9 pinned beside
 * the server as in the suite), dnsmasq (`--cache-size=0` to the same bind9). `--path` sets
 * SKYDNS_UDP for the SkyDNS rows (native, dgram; default: the server's own choice);
 * `--fwd-opts '{"udpSockets":4}'` adds forward options to the fwd row; `--node-args` goes to
 * node (e.g. `--node-args=--perf-basic-prof` for perf record).
 *
 * `--bin` runs another tree's build (e.g. a worktree) against the same data.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { instances, queryFile, zoneFile } from './lib/data.mjs';
import { dnsperf } from './lib/dnsperf.mjs';
import { loadavg, pin } from './lib/proc.mjs';
import { putAll } from './lib/register.mjs';
import { startDnsmasq, startNamed, startSkydns, stopAll } from './lib/servers.mjs';
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
    path: { type: 'string' },
    'fwd-opts': { type: 'string', default: '{}' },
    'node-args': { type: 'string', default: '' },
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

const NAMED = BASE + 20;
const all = {
  auth: { port: BASE, api: BASE + 10, chain: (api) => [{ api: { listen: `127.0.0.1:${api}` } }, 'skydns', 'synth'] },
  cache: { port: BASE + 1, api: BASE + 11, chain: (api) => ['cache', { api: { listen: `127.0.0.1:${api}` } }, 'skydns', 'synth'] },
  fwd: { port: BASE + 2, upstream: true, chain: () => [{ forward: { to: [`127.0.0.1:${NAMED}`], ...JSON.parse(o['fwd-opts']) } }] },
  dnsmasq: { port: BASE + 3, upstream: true, dnsmasq: true },
};
try {
  const ids = o.rows.split(',');
  for (const id of ids) if (!all[id]) throw new Error(`unknown row ${id}`);
  let named = null;
  if (ids.some((id) => all[id].upstream)) {
    const zonePath = join(dir, 'skydns.local.zone');
    await writeFile(zonePath, zoneFile(N, M));
    named = await startNamed({ dir, port: NAMED, zoneFile: zonePath });
    if (o.pin) pin(named.pid, '1');
  }
  for (const id of ids) {
    const row = all[id];
    const server = row.dnsmasq
      ? await startDnsmasq({ dir, port: row.port, upstreamPort: NAMED })
      : await startSkydns({ name: id, dir, port: row.port, chain: row.chain(row.api), bin: o.bin, nodeArgs: o['node-args'].split(' ').filter(Boolean), env: o.path ? { SKYDNS_UDP: o.path } : undefined });
    if (row.api) await putAll(`http://127.0.0.1:${row.api}`, data, 64);
    if (o.pin) pin(server.pid, '1');
    const cpus = o.pin ? '0' : undefined;
    await dnsperf({ port: row.port, file: queries, maxRuns: 1, clients: 1, outstanding: 10, cpus });
    await dnsperf({ port: row.port, file: queries, seconds: 2, cpus });
    for (let i = 0; i < Number(o.runs); i++) {
      const r = await dnsperf({ port: row.port, file: queries, seconds: Number(o.duration), pid: server.pid, upstreamPid: row.upstream ? named.pid : undefined, qps: o.qps ? Number(o.qps) : undefined, cpus });
      const lat = o.qps ? ` p50 ${fmt(r.p50Ms, 2)} p90 ${fmt(r.p90Ms, 2)} p95 ${fmt(r.p95Ms, 2)} p99 ${fmt(r.p99Ms, 2)} p99.9 ${fmt(r.p999Ms, 2)} ms` : '';
      process.stdout.write(`${id}: ${fmtInt(r.qps)} QPS, ${fmt(r.cpuUsPerQuery, 1)} µs/q, lost ${r.lost}, avg ${fmt(r.avgMs, 2)} ms${lat}, RSS ${fmt(r.rssMiB)} MiB, load ${r.load}${row.upstream ? `; bind9 ${fmt(r.upstreamCpuUsPerQuery, 1)} µs/q, upstream queries/q ${fmt(r.upstreamQueriesPerQuery, 2)}` : ''}\n`);
    }
  }
} finally {
  await stopAll();
}
