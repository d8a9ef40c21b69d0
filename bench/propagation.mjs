#!/usr/bin/env node
/**
 * Cluster benchmark: how fast a registration on one SkyDNS node is answered by
 * another, and how long writes stall when the etcd leader dies.
 *
 *   npm run build && node bench/propagation.mjs [--count 300] [--failovers 3]
 *
 * Starts three etcd members and two `skydns serve` processes (nodes A and B,
 * api + skydns, etcd registry) on 127.0.0.1, then:
 *
 *   1. propagation: --count times, PUT a new service on A's API and poll B over
 *      UDP (a query every ~1 ms) until B answers it. Reported: PUT acknowledged
 *      (A, etcd committed), visible on B after the ack, and the sum.
 *   2. failover, --failovers times: a stream of PUTs (one at a time, to A) and
 *      of UDP queries (to B) runs while the etcd leader gets SIGKILL. Reported:
 *      time from the kill until a PUT sent after it is acknowledged, the longest gap
 *      between acknowledged PUTs, refused PUTs (503), and DNS queries that got
 *      no answer (expected: none). The member is restarted between rounds.
 *
 * Prints Markdown with the date and machine. Not part of `npm test`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EtcdCluster, freePort } from '../dist/src/testing/etcd.js';
import { queryUdp } from '../dist/src/testing/client.js';

const { values: opt } = parseArgs({ options: { count: { type: 'string', default: '300' }, failovers: { type: 'string', default: '3' } } });
const COUNT = Number(opt.count);
const FAILOVERS = Number(opt.failovers);
const BIN = fileURLToPath(new URL('../bin/skydns', import.meta.url));
const ZONE = 'skydns.local';

async function serve(dir, name, endpoints) {
  const dnsPort = await freePort();
  const file = join(dir, `Skyfile.${name}`);
  await writeFile(file, JSON.stringify({
    dns: { listen: [`127.0.0.1:${dnsPort}`] },
    registry: { backend: 'etcd', endpoints, prefix: '/skydns' },
    log: { level: 'info' },
    chain: [{ api: { listen: '127.0.0.1:0' } }, { skydns: { zone: ZONE } }],
  }));
  const child = spawn(process.execPath, [BIN, 'serve', '-c', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const api = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const rec = JSON.parse(line);
        if (rec.msg?.startsWith('api listening on ')) resolve(rec.address);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`skydns serve (${name}) exited with ${code}`)));
  });
  return { child, api, dnsPort };
}

const body = (i) => JSON.stringify({ Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: `10.2.${(i >> 8) & 255}.${i & 255}`, Port: 8080, TTL: 3600 });
async function put(api, uuid, i) {
  const res = await fetch(`${api}/skydns/services/${uuid}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: body(i), signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status;
}
const name = (uuid) => `${uuid}.any.east.1-0-1.web.production.${ZONE}`;
async function answers(port, uuid) {
  const a = await queryUdp('127.0.0.1', port, name(uuid), 'SRV', { timeoutMs: 1000 });
  return a.rcode === 0 && (a.answers ?? []).length > 0;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
const f = (x) => x.toFixed(1);

const dir = await mkdtemp(join(tmpdir(), 'skydns-bench-cluster-'));
const etcd = await EtcdCluster.start(3);
const nodes = [];
try {
  nodes.push(await serve(dir, 'A', etcd.endpoints), await serve(dir, 'B', etcd.endpoints));
  const [A, B] = nodes;
  for (let i = 0; i < 20; i++) await put(A.api, `warm${i}`, i); // connections, JIT

  // 1. propagation
  const ack = [], after = [], total = [];
  for (let i = 0; i < COUNT; i++) {
    const uuid = `p${i}`;
    const t0 = performance.now();
    const status = await put(A.api, uuid, i);
    if (status !== 201) throw new Error(`PUT ${uuid}: ${status}`);
    const t1 = performance.now();
    while (!(await answers(B.dnsPort, uuid))) {
      if (performance.now() - t1 > 10_000) throw new Error(`${uuid} not visible on B after 10 s`);
      await sleep(1);
    }
    const t2 = performance.now();
    ack.push(t1 - t0);
    after.push(t2 - t1);
    total.push(t2 - t0);
  }
  for (const a of [ack, after, total]) a.sort((x, y) => x - y);

  // 2. failover
  const rounds = [];
  for (let r = 0; r < FAILOVERS; r++) {
    let stop = false;
    const acks = [];
    const sentOfAck = [];
    let refused = 0, unanswered = 0, queries = 0;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const sent = performance.now();
        const status = await put(A.api, `f${r}-${i}`, i).catch(() => 0);
        if (status === 201) acks.push(performance.now());
        if (status === 201) sentOfAck.push(sent);
        else refused++;
      }
    })();
    const reader = (async () => {
      while (!stop) {
        queries++;
        if (!(await answers(B.dnsPort, 'p0').catch(() => false))) unanswered++;
      }
    })();
    while (acks.length < 20) await sleep(10);
    const leader = await etcd.waitLeader();
    const tKill = performance.now();
    await etcd.kill(leader, 'SIGKILL');
    // The first write *sent* after the kill that was acknowledged: writes work again.
    const resumed = () => sentOfAck.findIndex((t) => t > tKill);
    while (resumed() < 0 && performance.now() - tKill < 60_000) await sleep(5);
    const firstAck = resumed() < 0 ? undefined : acks[resumed()];
    const n = acks.length;
    while (acks.length < n + 20 && performance.now() - tKill < 60_000) await sleep(10);
    stop = true;
    await Promise.all([writer, reader]);
    let gap = 0;
    for (let i = 1; i < acks.length; i++) gap = Math.max(gap, acks[i] - acks[i - 1]);
    rounds.push({ member: `m${leader}`, resume: firstAck === undefined ? NaN : firstAck - tKill, gap, refused, unanswered, queries });
    await etcd.restart(leader);
    await etcd.waitHealthy();
  }

  const etcdVersion = execFileSync('etcd', ['--version']).toString().split('\n')[0];
  const machine = `${cpus().length} CPU (${cpus()[0]?.model.trim()}), kernel ${execFileSync('uname', ['-r']).toString().trim()}, Node ${process.version}, ${etcdVersion}`;
  const row = (label, a) => `| ${label} | ${f(pct(a, 50))} | ${f(pct(a, 99))} | ${f(a[a.length - 1])} |`;
  process.stdout.write([
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${machine}  `,
    `Load average at the end (1/5/15 min): ${loadavg().map((x) => x.toFixed(2)).join(' / ')}  `,
    `Run: \`node bench/propagation.mjs --count ${COUNT} --failovers ${FAILOVERS}\``,
    '',
    `Propagation, ${COUNT} registrations (ms):`,
    '',
    '| step | p50 | p99 | max |',
    '|---|---|---|---|',
    row('PUT on A acknowledged (etcd commit + A\'s mirror)', ack),
    row('then visible via DNS on B', after),
    row('PUT sent on A → answered via DNS on B', total),
    '',
    'Failover, SIGKILL of the etcd leader under load:',
    '',
    '| round | killed | kill → a PUT sent after it acknowledged (ms) | longest gap between acks (ms) | PUTs refused (503) | DNS queries unanswered |',
    '|---|---|---|---|---|---|',
    ...rounds.map((x, i) => `| ${i + 1} | ${x.member} | ${f(x.resume)} | ${f(x.gap)} | ${x.refused} | ${x.unanswered} of ${x.queries} |`),
    '',
  ].join('\n'));
} finally {
  for (const n of nodes) {
    n.child.kill('SIGTERM');
    await new Promise((r) => (n.child.exitCode === null ? n.child.once('exit', r) : r()));
  }
  await etcd.stop();
  await rm(dir, { recursive: true, force: true });
}
