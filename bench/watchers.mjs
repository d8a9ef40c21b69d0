#!/usr/bin/env node
/**
 * Watch API benchmark: what N open watch streams cost the server in memory
 * and CPU, and what delivering changes to all of them costs.
 *
 *   npm run build && node bench/watchers.mjs [--watchers 1000] [--changes 2000] [--slow 0] [--quick]
 *
 * Starts `skydns serve` (a separate process, so its numbers are its own) with
 * the api on 127.0.0.1 and the embedded registry (fsync off: this measures the
 * watch side, not the disk), then:
 *
 *   1. reads the server's RSS and CPU time;
 *   2. opens --watchers SSE streams on GET /skydns/watch (half on the whole
 *      registry, half on `web.production`), of which --slow never read;
 *   3. RSS after the streams are open (the cost of an idle watcher);
 *   4. --changes registrations (half of them `web.production`), one at a time,
 *      and waits until every reading watcher has received every change it matches;
 *   5. RSS and CPU after: CPU per delivered event.
 *
 * Prints a Markdown table. `--quick` is a smoke run (100 watchers, 200 changes).
 * Not part of `npm test`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuMicros, memory } from './lib/proc.mjs';
import { serveApi } from './lib/servers.mjs';

const { values: opt } = parseArgs({
  options: {
    watchers: { type: 'string', default: '1000' },
    changes: { type: 'string', default: '2000' },
    slow: { type: 'string', default: '0' },
    quick: { type: 'boolean', default: false },
  },
});
const WATCHERS = opt.quick ? 100 : Number(opt.watchers);
const CHANGES = opt.quick ? 200 : Number(opt.changes);
const SLOW = Math.min(Number(opt.slow), WATCHERS);

/** Opens one SSE stream; counts its change events. A slow one is paused after the headers. */
function openStream(url, query, slow) {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(`/skydns/watch${query ? `?query=${query}` : ''}`, url), { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      const w = { res, events: 0, req };
      if (slow) res.pause();
      else res.on('data', (chunk) => { w.events += (chunk.toString().match(/^event: (registered|updated|expired|deleted)$/gm) ?? []).length; });
      resolve(w);
    });
    req.on('error', reject);
  });
}

async function put(url, i) {
  const web = i % 2 === 0;
  const body = JSON.stringify({ Name: web ? 'web' : 'db', Version: '1', Environment: 'production', Region: 'east', Host: `10.0.${(i >> 8) & 255}.${i & 255}`, Port: 80, TTL: 3600 });
  const res = await fetch(new URL(`/skydns/services/s${i}`, url), { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
  if (res.status !== 201) throw new Error(`PUT s${i}: ${res.status}`);
  await res.arrayBuffer();
}

const dir = await mkdtemp(join(tmpdir(), 'skydns-bench-watch-'));
await writeFile(join(dir, 'Skyfile'), JSON.stringify({
  dns: { listen: ['127.0.0.1:0'] },
  registry: { backend: 'embedded', path: './data', fsync: false },
  log: { level: 'info' },
  chain: [{ api: { listen: '127.0.0.1:0', watch: { maxWatchers: WATCHERS + 10, history: Math.max(4096, CHANGES) } } }],
}));
const { child, url } = await serveApi(dir);
const streams = [];
try {
  const mem0 = memory(child.pid);
  for (let i = 0; i < WATCHERS; i++) streams.push(await openStream(url, i % 2 ? 'web.production' : '', i < SLOW));
  const mem1 = memory(child.pid);
  const cpu0 = cpuMicros(child.pid);
  const t0 = performance.now();
  for (let i = 0; i < CHANGES; i++) await put(url, i);
  const want = (i) => (i % 2 ? Math.ceil(CHANGES / 2) : CHANGES);
  for (;;) {
    const behind = streams.filter((s, i) => i >= SLOW && s.events < want(i)).length;
    if (behind === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuMicros(child.pid);
  const mem2 = memory(child.pid);
  const delivered = streams.reduce((n, s) => n + s.events, 0);
  const kib = (a, b) => (((b - a) * 1024) / WATCHERS).toFixed(1);
  process.stdout.write([
    `Date: ${new Date().toISOString()}; Node ${process.version}`,
    `Run: \`node bench/watchers.mjs --watchers ${WATCHERS} --changes ${CHANGES} --slow ${SLOW}\``,
    '',
    '| measure | value |',
    '|---|---|',
    `| server RSS before / with ${WATCHERS} idle streams / after the changes (MiB) | ${mem0.rssMiB.toFixed(1)} / ${mem1.rssMiB.toFixed(1)} / ${mem2.rssMiB.toFixed(1)} |`,
    `| RSS per idle stream (KiB) | ${kib(mem0.rssMiB, mem1.rssMiB)} |`,
    `| changes, events delivered, wall time (s) | ${CHANGES}, ${delivered}, ${seconds.toFixed(2)} |`,
    `| server CPU for the changes and their delivery (ms) | ${((cpu1 - cpu0) / 1000).toFixed(0)} |`,
    `| server CPU per delivered event (µs) | ${((cpu1 - cpu0) / Math.max(1, delivered)).toFixed(1)} |`,
    '',
  ].join('\n'));
} finally {
  for (const s of streams) s.req.destroy();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
