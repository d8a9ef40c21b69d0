#!/usr/bin/env node
/**
 * CPU profile of the SkyDNS authoritative row (or, with --row cache|fwd, the cache row or the
 * forward-without-cache row, whose upstream is a bind9 started here):
 * `node --cpu-prof bin/skydns serve` with api, skydns and synth, the suite's data, one saturation run of dnsperf; then self time
 * per function and per file, counted only over the dnsperf run.
 *
 *   node bench/profile.mjs [--row auth|cache|fwd] [--services 50] [--instances 20] [--duration 10] [--out DIR]
 *
 * Writes DIR/profile.md, DIR/profile.json and keeps the .cpuprofile in DIR/profile/
 * (open it in Chrome DevTools → Performance, or speedscope).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { instances, queryFile, zoneFile } from './lib/data.mjs';
import { dnsperf } from './lib/dnsperf.mjs';
import { loadavg } from './lib/proc.mjs';
import { putAll } from './lib/register.mjs';
import { startNamed, startSkydns, stop, stopAll } from './lib/servers.mjs';
import { summarise } from './lib/cpuprofile.mjs';
import { fmt, fmtInt, table } from './lib/stats.mjs';

const { values: o } = parseArgs({
  options: {
    services: { type: 'string', default: '50' },
    instances: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    'port-base': { type: 'string', default: '15320' },
    row: { type: 'string', default: 'auth' },
    out: { type: 'string' },
  },
});
const N = Number(o.services);
const M = Number(o.instances);
const BASE = Number(o['port-base']);
const OUT = o.out ?? fileURLToPath(new URL(`./results/tmp/${new Date().toISOString().replace(/[:.]/g, '-')}`, import.meta.url));
const dir = join(OUT, o.row === 'auth' ? 'profile' : `profile-${o.row}`);
await mkdir(dir, { recursive: true });
const queries = join(dir, 'queries.txt');
await writeFile(queries, queryFile(N));

const ROWS = {
  auth: { title: 'SkyDNS authoritative row', chain: [{ api: { listen: `127.0.0.1:${BASE + 1}` } }, 'skydns', 'synth'] },
  cache: { title: 'SkyDNS with cache row', chain: ['cache', { api: { listen: `127.0.0.1:${BASE + 1}` } }, 'skydns', 'synth'] },
  fwd: { title: 'SkyDNS forward row (no cache, upstream bind9)', upstream: BASE + 2, chain: [{ forward: { to: [`127.0.0.1:${BASE + 2}`] } }] },
};
const ROW = ROWS[o.row];
if (!ROW) throw new Error(`--row: one of ${Object.keys(ROWS).join(', ')}`);
const chain = ROW.chain;
let sat;
let window;
try {
  if (ROW.upstream) {
    const zonePath = join(dir, 'skydns.local.zone');
    await writeFile(zonePath, zoneFile(N, M));
    await startNamed({ dir, port: ROW.upstream, zoneFile: zonePath });
  }
  const server = await startSkydns({ name: 'auth-profiled', dir, port: BASE, chain, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  if (!ROW.upstream) await putAll(`http://127.0.0.1:${BASE + 1}`, [...instances(N, M)], 64);
  await dnsperf({ port: BASE, file: queries, seconds: 2 }); // warm-up, outside the window
  const from = Number(process.hrtime.bigint() / 1000n);
  sat = await dnsperf({ port: BASE, file: queries, seconds: Number(o.duration), pid: server.pid });
  window = { from, to: Number(process.hrtime.bigint() / 1000n) };
  await stop(server); // SIGTERM: a clean exit writes the profile
} finally {
  await stopAll();
}
const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no .cpuprofile in ${dir}`);
let s = summarise(join(dir, file), window);
let windowed = true;
if (s.samples === 0) {
  s = summarise(join(dir, file));
  windowed = false;
}
const base = o.row === 'auth' ? 'profile' : `profile-${o.row}`;
await writeFile(join(OUT, `${base}.json`), JSON.stringify({ window, windowed, sat, ...s, functions: s.functions.slice(0, 60), files: s.files.slice(0, 40) }, null, 2));

const top = s.functions.slice(0, 25).map((f) => {
  const [name, loc] = f.key.split('\t');
  return [`\`${name}\``, loc ? `\`${loc}\`` : '', fmt(f.ms, 0), fmt(f.pct, 1), fmt(f.pctBusy, 1)];
});
const topFiles = s.files.slice(0, 15).map((f) => [`\`${f.key}\``, fmt(f.ms, 0), fmt(f.pct, 1), fmt(f.pctBusy, 1)]);
const md = `### CPU profile: ${ROW.title}

\`node --cpu-prof bin/skydns serve\` (${chain.map((c) => (typeof c === 'string' ? c : Object.keys(c)[0])).join(', ')}; ${N} × ${M}), one \`dnsperf -e -c 4 -q 50 -l ${o.duration}\` run:
${fmtInt(sat.qps)} QPS, ${fmt(sat.cpuUsPerQuery, 1)} µs CPU per query (the profiler adds some), load average ${sat.load}.
Samples ${windowed ? 'inside the dnsperf run only' : 'of the whole process (the window matched nothing)'}: ${fmtInt(s.samples)}, ${fmt(s.totalMs, 0)} ms, of which idle ${fmt(s.idleMs, 0)} ms.
"% busy" leaves out \`(idle)\`. Profile file: \`${join(dir, file)}\`.

Top self time by function:

${table(['function', 'where', 'self ms', '% all', '% busy'], top)}

Self time by file:

${table(['file', 'self ms', '% all', '% busy'], topFiles)}
`;
await writeFile(join(OUT, `${base}.md`), md);
process.stdout.write(md);
process.stderr.write(`[profile] done, load ${loadavg()}\n`);
