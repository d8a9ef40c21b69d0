#!/usr/bin/env node
/**
 * Signed answers, side by side: SkyDNS signing online (cache, dnssec, skydns, synth; and
 * without cache) against bind9 `named -n 1` serving the same zone pre-signed by
 * dnssec-signzone with the same two keys (ECDSAP256SHA256 KSK + ZSK). Every query has DO=1
 * (dnsperf -D); the cache rows are warmed first. The issue's target: SkyDNS with cache,
 * warm, at least 0.8x bind9's QPS. CPU per signature on a cold cache: bench/dnssec-sign.mjs.
 *
 *   node bench/dnssec.mjs [--services 50] [--instances 20] [--runs 3] [--duration 10] [--port-base 15500] [--no-pin]
 *
 * Needs dist/ (npm run build), dnsperf, named, dnssec-keygen, dnssec-signzone (bench/setup.sh
 * and bind9-utils). Not part of npm test. Writes DIR/dnssec.json and prints a table.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { instances, queryFile, zoneFile, ZONE } from './lib/data.mjs';
import { dnsperf } from './lib/dnsperf.mjs';
import { loadavg, pin } from './lib/proc.mjs';
import { putAll } from './lib/register.mjs';
import { startNamed, startSkydns, stopAll } from './lib/servers.mjs';
import { fmt, fmtInt, machine, median, table } from './lib/stats.mjs';

const { values: o } = parseArgs({
  options: {
    services: { type: 'string', default: '50' },
    instances: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    'port-base': { type: 'string', default: '15500' },
    out: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const N = Number(o.services);
const M = Number(o.instances);
const BASE = Number(o['port-base']);
const PIN = !o['no-pin'] && availableParallelism() >= 2;
const OUT = o.out ?? fileURLToPath(new URL(`./results/tmp/dnssec-${new Date().toISOString().replace(/[:.]/g, '-')}`, import.meta.url));
await mkdir(OUT, { recursive: true });
const say = (m) => process.stderr.write(`[dnssec ${new Date().toISOString().slice(11, 19)} load ${loadavg()}] ${m}\n`);

// Keys, and the zone signed by bind9's own signer with them.
const keygen = (...a) => execFileSync('dnssec-keygen', ['-q', '-K', OUT, '-a', 'ECDSAP256SHA256', '-n', 'ZONE', ...a, ZONE]).toString().trim();
const ksk = keygen('-f', 'KSK');
const zsk = keygen();
const zonePath = join(OUT, `${ZONE}.zone`);
await writeFile(zonePath, `${zoneFile(N, M)}\n$INCLUDE ${join(OUT, `${ksk}.key`)}\n$INCLUDE ${join(OUT, `${zsk}.key`)}\n`);
execFileSync('dnssec-signzone', ['-q', '-K', OUT, '-o', ZONE, '-f', `${zonePath}.signed`, '-k', join(OUT, `${ksk}.key`), zonePath, join(OUT, `${zsk}.key`)], { cwd: OUT });
const queries = join(OUT, 'queries.txt');
await writeFile(queries, queryFile(N));
const keys = [join(OUT, ksk), join(OUT, zsk)];

const P = { bind9: BASE, signedCache: BASE + 1, signed: BASE + 2, api1: BASE + 11, api2: BASE + 12 };
const rows = [
  { id: 'bind9', label: 'bind9 `named -n 1`, zone pre-signed by dnssec-signzone', port: P.bind9 },
  { id: 'signedCache', label: 'SkyDNS cache, dnssec, skydns, synth (warm)', port: P.signedCache, api: P.api1, chain: ['cache', { dnssec: { keys } }, { api: { listen: `127.0.0.1:${P.api1}` } }, 'skydns', 'synth'] },
  { id: 'signed', label: 'SkyDNS dnssec, skydns, synth (no cache: signature cache only)', port: P.signed, api: P.api2, chain: [{ dnssec: { keys } }, { api: { listen: `127.0.0.1:${P.api2}` } }, 'skydns', 'synth'] },
];
const result = { date: new Date().toISOString(), machine: machine(), params: { N, M, runs: Number(o.runs), duration: Number(o.duration), pinned: PIN }, rows: {} };
try {
  const servers = { bind9: await startNamed({ dir: OUT, port: P.bind9, zoneFile: `${zonePath}.signed` }) };
  const data = [...instances(N, M)];
  for (const row of rows.slice(1)) {
    servers[row.id] = await startSkydns({ name: row.id, dir: OUT, port: row.port, chain: row.chain });
    await putAll(`http://127.0.0.1:${row.api}`, data, 64);
  }
  if (PIN) for (const row of rows) pin(servers[row.id].pid, '1');
  const cpus = PIN ? '0' : undefined;
  for (const row of rows) {
    await dnsperf({ port: row.port, file: queries, maxRuns: 1, clients: 1, outstanding: 10, cpus, dnssec: true });
    await dnsperf({ port: row.port, file: queries, seconds: 2, cpus, dnssec: true });
  }
  for (let run = 1; run <= Number(o.runs); run++) {
    for (const row of rows) {
      const r = await dnsperf({ port: row.port, file: queries, seconds: Number(o.duration), pid: servers[row.id].pid, cpus, dnssec: true });
      (row.runs ??= []).push(r);
      say(`run ${run} ${row.id}: ${fmtInt(r.qps)} QPS, ${fmt(r.cpuUsPerQuery, 1)} µs/q, ${r.responseBytes} B/response, lost ${r.lost}`);
    }
  }
} finally {
  await stopAll();
}
for (const row of rows) result.rows[row.id] = { label: row.label, runs: row.runs, qps: median(row.runs.map((r) => r.qps)), cpuUs: median(row.runs.map((r) => r.cpuUsPerQuery)), bytes: median(row.runs.map((r) => r.responseBytes)) };
await writeFile(join(OUT, 'dnssec.json'), JSON.stringify(result, null, 2));
const b = result.rows.bind9;
process.stdout.write(table(['row', 'QPS', 'x bind9', 'CPU µs/query', 'bytes/response'], rows.map((r) => {
  const x = result.rows[r.id];
  return [x.label, fmtInt(x.qps), fmt(x.qps / b.qps, 2), fmt(x.cpuUs, 1), String(x.bytes)];
})) + '\n');
