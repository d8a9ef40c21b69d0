#!/usr/bin/env node
/**
 * Registry benchmark: registrations and heartbeats per second, and heartbeat
 * latency, through the HTTP API against the embedded backend.
 *
 *   npm run build && node bench/registry.mjs [--count 20000] [--concurrency 64] [--no-fsync]
 *
 * Starts `skydns serve` (a separate process: the load generator does not share
 * its event loop) with the api on 127.0.0.1 and the embedded registry in a
 * fresh temp dir, then drives it with autocannon over keep-alive HTTP/1.1 connections:
 *
 *   1. PUT      --count new services, --concurrency requests in flight
 *   2. PATCH    a heartbeat for each of them, same concurrency
 *   3. PATCH    2000 heartbeats one at a time (latency of a lone heartbeat)
 *
 * and prints a Markdown table. Not part of `npm test`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { drive } from './lib/register.mjs';
import { serveApi } from './lib/servers.mjs';

const { values: opt } = parseArgs({
  options: {
    count: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    'no-fsync': { type: 'boolean', default: false },
  },
});
const COUNT = Number(opt.count);
const CONC = Number(opt.concurrency);
const FSYNC = !opt['no-fsync'];

const ms = (x) => x.toFixed(2);

const dir = await mkdtemp(join(tmpdir(), 'skydns-bench-'));
await writeFile(join(dir, 'Skyfile'), JSON.stringify({
  dns: { listen: ['127.0.0.1:0'] },
  registry: { backend: 'embedded', path: './data', fsync: FSYNC },
  log: { level: 'info' },
  chain: [{ api: { listen: '127.0.0.1:0' } }],
}));
const { child, url } = await serveApi(dir);
const svc = (i) => ({ Name: 'web', Version: '1.0.1', Environment: 'production', Region: i % 2 ? 'east' : 'west', Host: `10.0.${(i >> 8) & 255}.${i & 255}`, Port: 8080, TTL: 3600 });
const base = url.href;
const range = (n) => Array.from({ length: n }, (_, i) => i);
try {
  // warm-up: connections, JIT, the log file
  await drive(base, range(500), (i) => ({ method: 'PUT', path: `/skydns/services/warm${i}`, body: svc(i), expect: 201 }), CONC);
  const put = await drive(base, range(COUNT), (i) => ({ method: 'PUT', path: `/skydns/services/s${i}`, body: svc(i), expect: 201 }), CONC);
  const patch = await drive(base, range(COUNT), (i) => ({ method: 'PATCH', path: `/skydns/services/s${i}`, body: { TTL: 3600 }, expect: 200 }), CONC);
  const lone = await drive(base, range(2000), (i) => ({ method: 'PATCH', path: `/skydns/services/s${i}`, body: { TTL: 3600 }, expect: 200 }), 1);

  const machine = `${cpus().length} CPU (${cpus()[0]?.model.trim()}), nproc ${execFileSync('nproc').toString().trim()}, kernel ${execFileSync('uname', ['-r']).toString().trim()}, Node ${process.version}`;
  const row = (name, r, conc) => `| ${name} | ${conc} | ${Math.round(r.perSecond)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${ms(r.maxMs)} |`;
  process.stdout.write([
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${machine}  `,
    `Run: \`node bench/registry.mjs --count ${COUNT} --concurrency ${CONC}${FSYNC ? '' : ' --no-fsync'}\` (fsync ${FSYNC ? 'on' : 'off'}; load from autocannon, one request in flight per connection)`,
    '',
    '| phase | in flight | requests/s | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|',
    row('PUT (register)', put, CONC),
    row('PATCH (heartbeat)', patch, CONC),
    row('PATCH (heartbeat), alone', lone, 1),
    '',
  ].join('\n'));
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
