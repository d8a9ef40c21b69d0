#!/usr/bin/env node
/**
 * Scale rows: SkyDNS (api, skydns, synth; embedded registry) with 100k registered instances.
 *   - registration through the API: PUT/s for all of them, then PATCH/s (one heartbeat each),
 *     64 requests in flight, every write durable (fsync) before its answer;
 *   - RSS empty, after registration, after queries;
 *   - answers with the whole set registered: saturation QPS and CPU/query, and latency at a
 *     fixed rate, over every service name (more names than the pre-encoded answer cache holds);
 *   - restart: SIGTERM, then time from spawning `skydns serve` on the same data dir until
 *     the last registered service answers SRV with all its instances.
 *
 *   node bench/scale.mjs [--services 5000] [--instances 20] [--duration 10] [--qps 10000] [--low-qps 1000]
 *                        [--wire-cache N (skydns's pre-encoded answers; default: the plugin's)] [--out DIR]
 *                        [--node-args="--trace-gc ..." (flags for the server's node; its stdout is DIR/scale/scale.log)]
 *
 * RSS is read empty, after the PUTs, after the PATCHes (before any query) and after the queries,
 * so growth from heartbeats and growth from answering are told apart (scale.json: rssPatched).
 *
 * Writes DIR/scale.json and DIR/scale.md. The data dir lives under DIR/scale/ (gitignored
 * when DIR is under bench/results/tmp) and is deleted at the end unless --keep.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { instances, queryFile, serviceName } from './lib/data.mjs';
import { dnsperf } from './lib/dnsperf.mjs';
import { waitForAnswer } from './lib/dnswire.mjs';
import { loadavg, memory } from './lib/proc.mjs';
import { patchAll, putAll } from './lib/register.mjs';
import { startSkydns, stop, stopAll } from './lib/servers.mjs';
import { renderScale } from './lib/render.mjs';
import { fmt, fmtInt } from './lib/stats.mjs';

const { values: o } = parseArgs({
  options: {
    services: { type: 'string', default: '5000' },
    instances: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    qps: { type: 'string', default: '10000' },
    'low-qps': { type: 'string', default: '1000' },
    'wire-cache': { type: 'string' },
    'node-args': { type: 'string', default: '' },
    'port-base': { type: 'string', default: '15330' },
    concurrency: { type: 'string', default: '64' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const N = Number(o.services);
const M = Number(o.instances);
const QPS = Number(o.qps);
const PORT = Number(o['port-base']);
const API = PORT + 1;
const CONC = Number(o.concurrency);
const OUT = o.out ?? fileURLToPath(new URL(`./results/tmp/${new Date().toISOString().replace(/[:.]/g, '-')}`, import.meta.url));
const dir = join(OUT, 'scale');
const dataDir = join(dir, 'data');
await mkdir(dir, { recursive: true });
const queries = join(dir, 'queries.txt');
await writeFile(queries, queryFile(N));
const say = (msg) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)} load ${loadavg()}] ${msg}\n`);

const nodeArgs = o['node-args'].split(' ').filter(Boolean);
const WIRE = o['wire-cache'] === undefined ? undefined : Number(o['wire-cache']);
const chain = [{ api: { listen: `127.0.0.1:${API}` } }, WIRE === undefined ? 'skydns' : { skydns: { wireCache: WIRE } }, 'synth'];
const last = serviceName(N - 1);
const LOW = Number(o['low-qps']);
const r = { date: new Date().toISOString(), params: { N, M, total: N * M, QPS, LOW, CONC, wireCache: WIRE }, load: {} };
try {
  let server = await startSkydns({ name: 'scale', dir, port: PORT, chain, dataDir, nodeArgs });
  r.rssEmpty = memory(server.pid);
  const all = [...instances(N, M)];
  say(`registering ${all.length} instances, ${CONC} in flight`);
  r.load.put = loadavg();
  r.put = await putAll(`http://127.0.0.1:${API}`, all, CONC);
  r.rssRegistered = memory(server.pid);
  say(`PUT ${fmtInt(r.put.perSecond)}/s; RSS ${fmt(r.rssRegistered.rssMiB, 0)} MiB`);
  r.load.patch = loadavg();
  r.patch = await patchAll(`http://127.0.0.1:${API}`, all, CONC);
  r.rssPatched = memory(server.pid);
  say(`PATCH ${fmtInt(r.patch.perSecond)}/s; RSS ${fmt(r.rssPatched.rssMiB, 0)} MiB (peak ${fmt(r.rssPatched.peakMiB, 0)})`);

  await dnsperf({ port: PORT, file: queries, seconds: 2 }); // warm-up
  r.sat = await dnsperf({ port: PORT, file: queries, seconds: Number(o.duration), pid: server.pid });
  r.fixed = await dnsperf({ port: PORT, file: queries, seconds: Number(o.duration), qps: QPS, pid: server.pid });
  if (LOW) r.low = await dnsperf({ port: PORT, file: queries, seconds: Number(o.duration), qps: LOW, pid: server.pid });
  r.rssQueried = memory(server.pid);
  say(`answers: ${fmtInt(r.sat.qps)} QPS, ${fmt(r.sat.cpuUsPerQuery, 1)} µs/q; @${QPS}: p99 ${fmt(r.fixed.p99Ms, 2)} ms; RSS ${fmt(r.rssQueried.rssMiB, 0)} MiB (peak ${fmt(r.rssQueried.peakMiB, 0)})`);

  const t0 = performance.now();
  await stop(server);
  r.stopSeconds = (performance.now() - t0) / 1000;
  r.diskMiB = Number(execFileSync('du', ['-sk', dataDir]).toString().split('\t')[0]) / 1024;

  r.load.restart = loadavg();
  const t1 = performance.now();
  server = await startSkydns({ name: 'scale-restart', dir, port: PORT, chain, dataDir });
  r.restartServingSeconds = (performance.now() - t1) / 1000;
  await waitForAnswer(PORT, last, 'SRV', { timeoutMs: 120000, intervalMs: 10, until: (h) => h.rcode === 0 && h.an === M });
  r.restartAnswerSeconds = (performance.now() - t1) / 1000;
  r.rssRestarted = memory(server.pid);
  say(`restart: serving after ${fmt(r.restartServingSeconds, 2)} s, ${last} answered after ${fmt(r.restartAnswerSeconds, 2)} s`);
  await stop(server);
} finally {
  await stopAll();
  if (!o.keep) await rm(dataDir, { recursive: true, force: true });
}
await writeFile(join(OUT, 'scale.json'), JSON.stringify(r, null, 2));

const md = renderScale(r);
await writeFile(join(OUT, 'scale.md'), md);
process.stdout.write(md);
