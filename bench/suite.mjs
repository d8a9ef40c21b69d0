#!/usr/bin/env node
/**
 * The side-by-side rows: SkyDNS (authoritative, with cache, forward + cache, forward) against
 * bind9 (`named -n 1`), unbound (cache hits) and dnsmasq (`--cache-size=0`, forwarding to the
 * same bind9), same data, same queries, same machine, runs interleaved so each ratio comes
 * from runs back to back. Every SkyDNS row runs twice, once per UDP path: the native batched
 * socket (`SKYDNS_UDP=native`) and node:dgram (`SKYDNS_UDP=dgram`); a native row whose server
 * cannot serve natively says so instead of running. After the rounds, one more saturation and
 * one fixed-rate run per row with `perf stat` count the server's system calls per query.
 *
 *   node bench/suite.mjs [--services 50] [--instances 20] [--runs 3] [--duration 10]
 *                        [--fixed-duration 5] [--qps 10000] [--cpu-qps 5000] [--out DIR]
 *                        [--rows auth,authW2,...]   (only these rows; `auth` is both paths,
 *                                                    `auth:dgram` one; default all)
 *                        [--paths native,dgram]     (UDP paths of the SkyDNS rows)
 *                        [--no-syscalls]            (skip the perf stat runs)
 *                        [--no-pin]   (default with 2+ CPUs: each single-process server on CPU 1, dnsperf on CPU 0)
 *
 * Writes DIR/suite.json and DIR/suite.md (DIR defaults to bench/results/tmp/<time>).
 * Needs dist/ (npm run build), dnsperf, named, unbound, dnsmasq, perf (bench/setup.sh).
 * Ports: --port-base .. +19 and +60 .. +79. Not part of npm test.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import dgram from 'node:dgram';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { instances, queryFile, zoneFile, serviceName } from './lib/data.mjs';
import { dnsperf } from './lib/dnsperf.mjs';
import { query } from './lib/dnswire.mjs';
import { loadavg, pin } from './lib/proc.mjs';
import { putAll } from './lib/register.mjs';
import { checkChain, startBare, startDnsmasq, startNamed, startSkydns, startUnbound, stop as stopServer, stopAll } from './lib/servers.mjs';
import { probeSyscallCounting } from './lib/syscalls.mjs';
import { renderSuite } from './lib/render.mjs';
import { fmt, fmtInt, machine, median } from './lib/stats.mjs';

const { values: o } = parseArgs({
  options: {
    services: { type: 'string', default: '50' },
    instances: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    'fixed-duration': { type: 'string', default: '5' },
    qps: { type: 'string', default: '10000' },
    'cpu-qps': { type: 'string', default: '5000' },
    clients: { type: 'string', default: '4' },
    outstanding: { type: 'string', default: '50' },
    'port-base': { type: 'string', default: '15300' },
    out: { type: 'string' },
    rows: { type: 'string' },
    paths: { type: 'string', default: 'native,dgram' },
    'no-syscalls': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
  },
});
const N = Number(o.services);
const M = Number(o.instances);
const RUNS = Number(o.runs);
const DURATION = Number(o.duration);
const FIXED = Number(o['fixed-duration']);
const QPS = Number(o.qps);
const CPU_QPS = Number(o['cpu-qps']);
const CLIENTS = Number(o.clients);
const OUTSTANDING = Number(o.outstanding);
const BASE = Number(o['port-base']);
// Pinning needs two CPUs and taskset; --no-pin runs everything where the kernel puts it.
const PIN = !o['no-pin'] && availableParallelism() >= 2 && hasTaskset();
const SERVER_CPU = '1';
const LOAD_CPU = '0';
function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const OUT = o.out ?? fileURLToPath(new URL(`./results/tmp/${new Date().toISOString().replace(/[:.]/g, '-')}`, import.meta.url));
const dir = join(OUT, 'suite');
await mkdir(dir, { recursive: true });

const say = (msg) => process.stderr.write(`[suite ${new Date().toISOString().slice(11, 19)} load ${loadavg()}] ${msg}\n`);

/** Refuses to start when one of our ports is taken (we never reuse someone else's server). */
async function assertFree(port) {
  await new Promise((resolve, reject) => {
    const s = createServer().once('error', () => reject(new Error(`TCP 127.0.0.1:${port} is in use; pick another --port-base`)));
    s.listen(port, '127.0.0.1', () => s.close(resolve));
  });
  await new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4').once('error', () => reject(new Error(`UDP 127.0.0.1:${port} is in use; pick another --port-base`)));
    s.bind(port, '127.0.0.1', () => s.close(resolve));
  });
}

const P = { named: BASE, unbound: BASE + 1, auth: BASE + 2, cache: BASE + 3, fwdCache: BASE + 4, fwd: BASE + 5, bare: BASE + 6, authW2: BASE + 7, cacheW2: BASE + 8, dnsmasq: BASE + 9, authApi: BASE + 12, cacheApi: BASE + 13, authW2Api: BASE + 14, cacheW2Api: BASE + 15 };
/** The second UDP path of a SkyDNS row gets the row's ports moved by this much (BASE+62 .. +75). */
const PATH_SHIFT = 60;

// The data set, generated once.
const zonePath = join(dir, 'skydns.local.zone');
const queriesPath = join(dir, 'queries.txt');
await writeFile(zonePath, zoneFile(N, M));
await writeFile(queriesPath, queryFile(N));
const data = [...instances(N, M)];

const api = (port) => ({ api: { listen: `127.0.0.1:${port}` } });
const baseRows = [
  { id: 'bind9', label: 'bind9 `named -n 1`, authoritative', port: P.named },
  { id: 'auth', label: 'SkyDNS authoritative', detail: 'api, skydns, synth; no cache', port: P.auth, skydns: true, api: P.authApi, chain: (a) => [api(a), 'skydns', 'synth'] },
  { id: 'bare', label: 'floor: bare Node dgram responder, one pre-encoded reply (bench/experiments/bare-udp.mjs)', port: P.bare, bare: true },
  { id: 'unbound', label: 'unbound cache hits (forwarding to bind9, warmed)', port: P.unbound, warm: true },
  { id: 'cache', label: 'SkyDNS with cache', detail: 'cache, api, skydns, synth', port: P.cache, skydns: true, api: P.cacheApi, warm: true, chain: (a) => ['cache', api(a), 'skydns', 'synth'] },
  { id: 'fwdCache', label: 'SkyDNS forward + cache hits', detail: 'upstream bind9, warmed', port: P.fwdCache, skydns: true, warm: true, chain: () => ['cache', { forward: { to: [`127.0.0.1:${P.named}`] } }] },
  { id: 'dnsmasq', label: 'dnsmasq `--cache-size=0`, forwarding to bind9 (its CPU excludes bind9)', port: P.dnsmasq, dnsmasq: true, upstream: true },
  { id: 'fwd', label: 'SkyDNS forward, no cache', detail: 'upstream bind9; its CPU excludes bind9', port: P.fwd, skydns: true, upstream: true, chain: () => [{ forward: { to: [`127.0.0.1:${P.named}`] } }] },
  // Skyfile `workers: 2`: a primary (registry) and two cluster workers sharing the port; CPU is the sum of all three.
  { id: 'authW2', label: 'SkyDNS authoritative, workers 2', port: P.authW2, skydns: true, workers: 2, api: P.authW2Api, chain: (a) => [api(a), 'skydns', 'synth'] },
  { id: 'cacheW2', label: 'SkyDNS with cache, workers 2', port: P.cacheW2, skydns: true, workers: 2, api: P.cacheW2Api, warm: true, chain: (a) => ['cache', api(a), 'skydns', 'synth'] },
];
const PATHS = o.paths.split(',').map((x) => x.trim()).filter(Boolean);
for (const p of PATHS) if (p !== 'native' && p !== 'dgram') throw new Error(`--paths: "${p}" is neither native nor dgram`);
// Every SkyDNS row once per UDP path ("auth:native", "auth:dgram"), each with its own ports and registry.
const allRows = baseRows.flatMap((r) => {
  if (!r.skydns) return [r];
  return PATHS.map((path, i) => {
    const shift = i === 0 ? 0 : PATH_SHIFT;
    const apiPort = r.api ? r.api + shift : undefined;
    return { ...r, id: `${r.id}:${path}`, base: r.id, path, label: `${r.label} (${path})${r.detail ? ` — ${r.detail}` : ''}`, port: r.port + shift, api: apiPort, chain: r.chain(apiPort) };
  });
});
const only = o.rows?.split(',').map((s) => s.trim());
const rows = only ? allRows.filter((r) => only.includes(r.id) || only.includes(r.base)) : allRows;
const known = new Set(allRows.flatMap((r) => [r.id, r.base].filter(Boolean)));
if (only && only.some((id) => !known.has(id))) throw new Error(`--rows: unknown row in ${o.rows}; rows are ${[...known].join(', ')}`);
for (const r of rows) {
  await assertFree(r.port);
  if (r.api) await assertFree(r.api);
}
for (const p of [P.named, P.unbound]) await assertFree(p);

const syscallProbe = o['no-syscalls'] ? { reason: 'not measured (--no-syscalls)' } : probeSyscallCounting();
const result = { date: new Date().toISOString(), machine: machine(), params: { N, M, RUNS, DURATION, FIXED, QPS, CPU_QPS, CLIENTS, OUTSTANDING, PATHS, pinned: PIN ? { server: SERVER_CPU, dnsperf: LOAD_CPU } : null }, syscalls: syscallProbe.events ? { method: syscallProbe.method, events: syscallProbe.events } : { reason: syscallProbe.reason }, loadStart: loadavg(), rows: {} };

try {
  say(`data: ${N} services × ${M} instances; queries ${N * 5} lines (80 % SRV, 20 % A); out ${dir}`);
  const named = await startNamed({ dir, port: P.named, zoneFile: zonePath });
  const servers = { bind9: named, unbound: await startUnbound({ dir, port: P.unbound, upstreamPort: P.named }) };
  if (rows.some((r) => r.dnsmasq)) {
    try {
      servers.dnsmasq = await startDnsmasq({ dir, port: P.dnsmasq, upstreamPort: P.named });
    } catch (err) {
      rows.find((r) => r.dnsmasq).notRun = `not run: dnsmasq did not start (${err.message}); bench/setup.sh installs dnsmasq-base`;
    }
  }
  for (const row of rows.filter((r) => r.skydns)) {
    const check = await checkChain(dir, row.chain);
    if (!check.ok) {
      row.notRun = `not run: ${check.message}`;
      say(`${row.id}: ${row.notRun}`);
      continue;
    }
    const name = row.id.replace(':', '-');
    try {
      servers[row.id] = await startSkydns({ name, dir, port: row.port, chain: row.chain, workers: row.workers, env: { SKYDNS_UDP: row.path } });
    } catch (err) {
      if (row.path !== 'native') throw err;
      row.notRun = `not run: the native UDP path is not available (${err.message})`;
      say(`${row.id}: ${row.notRun}`);
      continue;
    }
    // A build from before the native socket ignores SKYDNS_UDP and serves on dgram: do not call that native.
    const served = servers[row.id].udp;
    if (row.path === 'native' && served !== 'native') {
      row.notRun = `not run: the native UDP path is not available (the server serves UDP on ${served ?? 'node:dgram; its start-up line names no native path'})`;
      say(`${row.id}: ${row.notRun}`);
      await stopServer(servers[row.id]);
      delete servers[row.id];
      continue;
    }
    row.udp = served ?? 'dgram';
    if (row.api) {
      const reg = await putAll(`http://127.0.0.1:${row.api}`, data, 64);
      row.registration = reg;
      say(`${row.id}: registered ${reg.count} instances in ${reg.seconds.toFixed(1)} s`);
    }
  }

  const bare = rows.find((r) => r.id === 'bare');
  const authRow = rows.find((r) => r.base === 'auth' && servers[r.id]);
  if (bare && authRow) servers.bare = await startBare({ dir, port: P.bare, replyFrom: authRow.port });

  // One CPU for the server, one for dnsperf: unpinned, where the kernel put the server's
  // threads and the loopback work moved the floor row from 58k to 79k QPS between runs.
  // Rows with workers get every CPU (that is their point), and so does their dnsperf.
  if (PIN) {
    for (const row of rows) if (servers[row.id] && !row.workers) pin(servers[row.id].pid, SERVER_CPU);
    say(`pinned: servers on CPU ${SERVER_CPU}, dnsperf on CPU ${LOAD_CPU} (rows with workers: unpinned)`);
  }
  if (bare && !servers.bare) bare.notRun = 'not run: needs an authoritative row';

  // Every server must give the same answers: count the records and bytes of one SRV and one A answer.
  for (const row of rows) {
    if (row.notRun) continue;
    const srv = await query(row.port, serviceName(1), 'SRV', { rd: true });
    const a = await query(row.port, serviceName(1), 'A', { rd: true });
    row.answers = { srv, a };
    say(`${row.id}: SRV an=${srv?.an} ar=${srv?.ar} ${srv?.size} B tc=${srv?.tc}; A an=${a?.an} ${a?.size} B`);
    if (!row.bare && (!srv || srv.rcode !== 0 || srv.an !== M)) throw new Error(`${row.id} does not answer SRV ${serviceName(1)} with ${M} records: ${JSON.stringify(srv)}`);
  }

  // Warm-up: every query once through caches, then 2 s of load for JIT and buffers (discarded).
  for (const row of rows) {
    if (row.notRun) continue;
    const cpus = PIN && !row.workers ? LOAD_CPU : undefined;
    await dnsperf({ port: row.port, file: queriesPath, maxRuns: 1, clients: 1, outstanding: 10, cpus });
    await dnsperf({ port: row.port, file: queriesPath, seconds: 2, clients: CLIENTS, outstanding: OUTSTANDING, cpus });
  }

  for (let run = 1; run <= RUNS; run++) {
    for (const row of rows) {
      if (row.notRun) continue;
      const pid = servers[row.id].pid;
      const cpus = PIN && !row.workers ? LOAD_CPU : undefined;
      const upstreamPid = row.upstream ? servers.bind9.pid : undefined;
      const sat = await dnsperf({ port: row.port, file: queriesPath, seconds: DURATION, clients: CLIENTS, outstanding: OUTSTANDING, pid, upstreamPid, cpus });
      const fixed = await dnsperf({ port: row.port, file: queriesPath, seconds: FIXED, clients: CLIENTS, outstanding: OUTSTANDING, qps: QPS, pid, cpus });
      // CPU per query at one rate every server sustains: the socket path's cost depends on the rate.
      const equal = CPU_QPS ? await dnsperf({ port: row.port, file: queriesPath, seconds: FIXED, clients: CLIENTS, outstanding: OUTSTANDING, qps: CPU_QPS, pid, cpus }) : undefined;
      (row.runs ??= []).push({ run, sat, fixed, equal });
      say(`run ${run} ${row.id}: ${fmtInt(sat.qps)} QPS, lost ${sat.lost}, ${fmt(sat.cpuUsPerQuery, 1)} µs/q, avg ${fmt(sat.avgMs, 2)} ms; @${QPS}: p99 ${fmt(fixed.p99Ms, 2)} ms, lost ${fixed.lost}`);
    }
  }

  // System calls per query, in runs of their own (counting adds a little work to every call):
  // at saturation (where batching can pay) and at the fixed rate.
  if (syscallProbe.events) {
    for (const row of rows) {
      if (row.notRun) continue;
      const pid = servers[row.id].pid;
      const cpus = PIN && !row.workers ? LOAD_CPU : undefined;
      const sat = await dnsperf({ port: row.port, file: queriesPath, seconds: FIXED, clients: CLIENTS, outstanding: OUTSTANDING, pid, cpus, syscalls: syscallProbe });
      const fixed = await dnsperf({ port: row.port, file: queriesPath, seconds: FIXED, clients: CLIENTS, outstanding: OUTSTANDING, qps: QPS, pid, cpus, syscalls: syscallProbe });
      row.syscalls = { sat: { qps: sat.qps, completed: sat.completed, perQuery: sat.syscallsPerQuery, counts: sat.syscalls }, fixed: { qps: fixed.qps, completed: fixed.completed, perQuery: fixed.syscallsPerQuery, counts: fixed.syscalls } };
      say(`syscalls ${row.id}: ${fmt(sat.syscallsPerQuery, 2)} per query at saturation (${fmtInt(sat.qps)} QPS), ${fmt(fixed.syscallsPerQuery, 2)} at ${QPS} QPS`);
    }
  } else say(`syscalls per query: ${syscallProbe.reason}`);
} finally {
  await stopAll();
}
result.loadEnd = loadavg();

// Medians and back-to-back ratios.
for (const row of rows) {
  const r = { id: row.id, base: row.base, path: row.path, udp: row.udp, label: row.label, notRun: row.notRun, answers: row.answers, registration: row.registration, syscalls: row.syscalls, runs: row.runs ?? [] };
  if (row.runs) {
    const m = (f) => median(row.runs.map(f));
    r.median = {
      qps: m((x) => x.sat.qps),
      lost: m((x) => x.sat.lost),
      cpuUs: m((x) => x.sat.cpuUsPerQuery),
      avgMs: m((x) => x.sat.avgMs),
      maxMs: m((x) => x.sat.maxMs),
      fixedAvgMs: m((x) => x.fixed.avgMs),
      fixedP99Ms: m((x) => x.fixed.p99Ms),
      fixedMaxMs: m((x) => x.fixed.maxMs),
      fixedLost: m((x) => x.fixed.lost),
      rssMiB: m((x) => x.sat.rssMiB),
      upstreamQueries: m((x) => x.sat.upstreamQueriesPerQuery),
      upstreamCpuUs: m((x) => x.sat.upstreamCpuUsPerQuery),
    };
  }
  result.rows[row.id] = r;
}
function ratio(a, b, f) {
  const ra = result.rows[a]?.runs;
  const rb = result.rows[b]?.runs;
  if (!ra?.length || !rb?.length) return NaN;
  return median(ra.map((x, i) => (rb[i] ? f(x) / f(rb[i]) : NaN)));
}
const qps = (x) => x.sat.qps;
const cpu = (x) => x.sat.cpuUsPerQuery;
const cpuEq = (x) => x.equal?.cpuUsPerQuery;
// Per UDP path: SkyDNS against its peer, and (below) native against dgram, each a median of per-run ratios.
result.ratios = {};
for (const path of PATHS) {
  const s = (id) => `${id}:${path}`;
  result.ratios[path] = {
    authQpsVsBind9: ratio(s('auth'), 'bind9', qps),
    authCpuVsBind9: ratio(s('auth'), 'bind9', cpu),
    authCpuVsBind9Equal: ratio(s('auth'), 'bind9', cpuEq),
    cacheQpsVsUnbound: ratio(s('cache'), 'unbound', qps),
    cacheCpuVsUnbound: ratio(s('cache'), 'unbound', cpu),
    cacheCpuVsUnboundEqual: ratio(s('cache'), 'unbound', cpuEq),
    fwdCacheQpsVsUnbound: ratio(s('fwdCache'), 'unbound', qps),
    fwdCacheCpuVsUnbound: ratio(s('fwdCache'), 'unbound', cpu),
    fwdQpsVsDnsmasq: ratio(s('fwd'), 'dnsmasq', qps),
    fwdCpuVsDnsmasq: ratio(s('fwd'), 'dnsmasq', cpu),
  };
}
result.nativeVsDgram = {};
for (const b of baseRows.filter((r) => r.skydns)) {
  result.nativeVsDgram[b.id] = { label: b.label, qps: ratio(`${b.id}:native`, `${b.id}:dgram`, qps), cpu: ratio(`${b.id}:native`, `${b.id}:dgram`, cpu), cpuEqual: ratio(`${b.id}:native`, `${b.id}:dgram`, cpuEq) };
}
await writeFile(join(OUT, 'suite.json'), JSON.stringify(result, null, 2));

const md = renderSuite(result);
await writeFile(join(OUT, 'suite.md'), md);
process.stdout.write(md);
