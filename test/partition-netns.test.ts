/**
 * A SkyDNS node cut off from its etcd cluster by a silent partition, built
 * here from network namespaces (issue 18):
 *
 *   namespace E: three etcd members (169.254.77.1:2379/2479/2579, peers on
 *                its loopback) and SkyDNS node B, which writes "elsewhere".
 *   namespace N: SkyDNS nodes A (stale: "serve", the default) and S (stale:
 *                "servfail"), reaching E over a veth pair; later node C,
 *                reaching etcd through a delaying TCP proxy.
 *
 * The partition is an nftables rule in N dropping everything to and from
 * 169.254.77.1: no RST, no ICMP. Checked: answers (dig inside N), /ready,
 * the lag metric, the 503 texts, that no refused write lands, and the
 * catch-up after the heal (first poll that sees everything, within a 2 s
 * deadline; the measured times are printed as diagnostics and recorded in
 * docs/cluster.md). Link delay: this kernel has no sch_netem (`tc qdisc add
 * ... netem` answers "Specified qdisc kind is unknown"), so a TCP proxy in N
 * delays every chunk by half the round trip each way.
 *
 * Needs root, `ip`, `nft`, `etcd`, `dig` and `curl`; skipped loudly without them
 * (fails in CI). Namespaces and processes are removed in `after`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { etcdBinary } from '../src/testing/etcd.js';
import { cannotCreateNamespaces, inNs, sh, startInNs, stopChild, type NsChild } from '../src/testing/netns.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const E = `sky-pe-${process.pid}`;
const N = `sky-pn-${process.pid}`;
const ETCD_IP = '169.254.77.1';
const NODE_IP = '169.254.77.2';
const CLIENT = [2379, 2479, 2579];
const ZONE = 'skydns.local';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function skipReason(): string | false {
  const why = cannotCreateNamespaces(true) ?? (etcdBinary() ? null : 'etcd is not installed') ?? (onPath('dig') ? null : 'dig is not installed') ?? (onPath('curl') ? null : 'curl is not installed');
  if (!why) return false;
  if (process.env.CI === 'true') return false; // fail loudly in `before` instead
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!! SKIPPED partition-netns: ${why}.\n!! A node cut off from etcd (issue 18) is NOT tested here.\n${bar}\n`);
  return why;
}
function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
}

const skyfile = (o: { dns: number; http: number; endpoints: string[]; extra?: string }) => `{
  dns: { listen: ["127.0.0.1:${o.dns}"] },
  registry: { backend: "etcd", endpoints: ${JSON.stringify(o.endpoints)}, callTimeoutMs: 3000 ${o.extra ?? ''} },
  log: { level: "${process.env.SKYDNS_TEST_LOGS ? 'debug' : 'info'}" },
  chain: [
    { metrics: { listen: "127.0.0.1:${o.http + 2000}" } },
    { health: { listen: "127.0.0.1:${o.http + 100}" } },
    { api: { listen: "127.0.0.1:${o.http}" } },
    { skydns: { zone: "${ZONE}" } },
    { synth: { zone: "${ZONE}" } },
  ],
}`;

/** The delaying proxy: argv = one-way delay ms, one-way delay after SIGUSR1, [[listen, host, port], ...]. */
const PROXY = `
import net from 'node:net';
let oneWay = Number(process.argv[2]);
process.on('SIGUSR1', () => { oneWay = Number(process.argv[3]); console.log('one-way delay now', oneWay); });
for (const [lp, host, port] of JSON.parse(process.argv[4])) {
  net.createServer((c) => {
    const u = net.connect(port, host);
    const pipe = (from, to) => {
      from.on('data', (b) => setTimeout(() => { if (!to.destroyed) to.write(b); }, oneWay));
      from.on('close', () => setTimeout(() => to.destroy(), oneWay));
      from.on('error', () => undefined);
    };
    pipe(c, u);
    pipe(u, c);
  }).listen(lp, '127.0.0.1');
}
console.log('proxy up');
`;

interface Node {
  name: string;
  ns: string;
  dns: number;
  http: number;
  child?: NsChild;
}

const body = (name: string, over: Record<string, unknown> = {}) => ({ Name: name, Version: '1.0.0', Environment: 'production', Region: 'east', Host: '192.0.2.10', Port: 80, TTL: 3600, ...over });

/** An HTTP request made inside the node's namespace (curl): status and body. */
async function http(n: Node, method: string, path: string, json?: unknown, port = n.http): Promise<{ status: number; body: string }> {
  const args = ['-s', '--max-time', '15', '-X', method, '-w', '\n%{http_code}', `http://127.0.0.1:${port}${path}`];
  if (json !== undefined) args.push('-H', 'content-type: application/json', '--data', JSON.stringify(json));
  const r = await inNs(n.ns, 'curl', args, 20_000);
  const i = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(i + 1)) || 0, body: r.stdout.slice(0, i) };
}

/** dig SRV of `<name>.production.<zone>` on the node: rcode and answer count. */
async function srv(n: Node, name: string): Promise<{ rcode: string; answers: number }> {
  const r = await inNs(n.ns, 'dig', ['@127.0.0.1', '-p', String(n.dns), '+time=1', '+tries=1', 'SRV', `${name}.production.${ZONE}`], 5000);
  const rcode = /status: (\w+)/.exec(r.stdout)?.[1] ?? `no answer (${r.stdout.trim().split('\n').pop()})`;
  return { rcode, answers: Number(/ANSWER: (\d+)/.exec(r.stdout)?.[1] ?? -1) };
}

async function ready(n: Node): Promise<{ status: number; stale?: boolean; lagSeconds?: number | null; ready?: boolean }> {
  const r = await http(n, 'GET', '/ready', undefined, n.http + 100);
  try {
    return { status: r.status, ...(JSON.parse(r.body) as object) };
  } catch {
    return { status: r.status };
  }
}

async function lagMetric(n: Node): Promise<number> {
  const r = await http(n, 'GET', '/metrics', undefined, n.http + 2000);
  return Number(/^skydns_registry_mirror_lag_seconds ([\d.e+-]+)$/m.exec(r.body)?.[1] ?? NaN);
}

/** Polls `cond` every 100 ms; fails after `ms` (a give-up bound, not a timing claim). */
async function until(what: string, cond: () => Promise<boolean>, ms: number, diag = () => ''): Promise<number> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}${diag()}`);
    await sleep(100);
  }
  return Date.now() - start;
}

/** Drops (no reject) everything between namespace N and the etcd address, both ways. */
function cut(): void {
  sh('ip', ['netns', 'exec', N, 'nft', 'add table inet skypart']);
  sh('ip', ['netns', 'exec', N, 'nft', 'add chain inet skypart o { type filter hook output priority 0 ; }']);
  sh('ip', ['netns', 'exec', N, 'nft', 'add chain inet skypart i { type filter hook input priority 0 ; }']);
  sh('ip', ['netns', 'exec', N, 'nft', `add rule inet skypart o ip daddr ${ETCD_IP} drop`]);
  sh('ip', ['netns', 'exec', N, 'nft', `add rule inet skypart i ip saddr ${ETCD_IP} drop`]);
}
function heal(): void {
  sh('ip', ['netns', 'exec', N, 'nft', 'delete table inet skypart']);
}

describe('a node cut off from etcd by a silent partition (network namespaces)', { skip: skipReason() }, () => {
  let dir = '';
  const children: NsChild[] = [];
  const nsMade: string[] = [];
  const B: Node = { name: 'B', ns: E, dns: 1053, http: 8080 };
  const A: Node = { name: 'A', ns: N, dns: 1053, http: 8080 };
  const S: Node = { name: 'S', ns: N, dns: 1054, http: 8081 };
  const C: Node = { name: 'C', ns: N, dns: 1055, http: 8082 };
  let proxy: NsChild | undefined;
  let beating = true;
  let beats: Promise<void> | undefined;
  const diag = () => children.map((c) => `\n--- ${c.name} ---\n${c.output().slice(-4000)}`).join('');

  before(async () => {
    const why = cannotCreateNamespaces(true);
    if (why) assert.fail(`network namespaces and nftables are needed in CI: ${why}`);
    dir = await mkdtemp(join(tmpdir(), 'skydns-partition-'));
    for (const ns of [E, N]) {
      sh('ip', ['netns', 'add', ns]);
      nsMade.push(ns);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const ve = `vpe${process.pid % 100000}`;
    const vn = `vpn${process.pid % 100000}`;
    sh('ip', ['link', 'add', ve, 'netns', E, 'type', 'veth', 'peer', 'name', vn, 'netns', N]);
    sh('ip', ['-n', E, 'addr', 'add', `${ETCD_IP}/30`, 'dev', ve]);
    sh('ip', ['-n', N, 'addr', 'add', `${NODE_IP}/30`, 'dev', vn]);
    sh('ip', ['-n', E, 'link', 'set', ve, 'up']);
    sh('ip', ['-n', N, 'link', 'set', vn, 'up']);

    const peers = CLIENT.map((p, i) => `m${i}=http://127.0.0.1:${p + 1}`).join(',');
    for (const [i, p] of CLIENT.entries()) {
      children.push(startInNs(E, `etcd m${i}`, [etcdBinary()!, '--name', `m${i}`, '--data-dir', join(dir, `m${i}`),
        '--listen-client-urls', `http://${ETCD_IP}:${p},http://127.0.0.1:${p}`, '--advertise-client-urls', `http://${ETCD_IP}:${p}`,
        '--listen-peer-urls', `http://127.0.0.1:${p + 1}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${p + 1}`,
        '--initial-cluster', peers, '--initial-cluster-token', `part-${process.pid}`, '--initial-cluster-state', 'new',
        '--logger', 'zap', '--log-level', 'warn'], dir));
    }
    const local = CLIENT.map((p) => `127.0.0.1:${p}`);
    const remote = CLIENT.map((p) => `${ETCD_IP}:${p}`);
    const bin = join(root, 'bin/skydns');
    for (const [n, eps, extra] of [[B, local, ''], [A, remote, ''], [S, remote, ', stale: "servfail"']] as const) {
      await writeFile(join(dir, `${n.name}.json5`), skyfile({ dns: n.dns, http: n.http, endpoints: [...eps], extra }));
      n.child = startInNs(n.ns, `skydns ${n.name}`, [process.execPath, bin, 'serve', '-c', join(dir, `${n.name}.json5`)], dir);
      children.push(n.child);
    }
    for (const n of [B, A, S]) await until(`node ${n.name} ready`, async () => (await ready(n)).status === 200, 30_000, diag);
  });

  after(async () => {
    // SKYDNS_TEST_LOGS=<dir>: keep every child's output there (for measuring, and when a run fails).
    const keep = process.env.SKYDNS_TEST_LOGS;
    if (keep) for (const c of children) await writeFile(join(keep, `${c.name.replace(/\s+/g, '-')}.log`), c.output());
    beating = false;
    await beats;
    for (const c of [...children].reverse()) await stopChild(c);
    await stopChild(proxy);
    for (const ns of nsMade) spawnDel(ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('partitions shorter and longer than the TTLs: no denial, visible staleness, refused writes never land, catch-up right after the heal', async (t) => {
    assert.equal((await http(B, 'PUT', '/skydns/services/alive', body('alive', { TTL: 3 }))).status, 201);
    assert.equal((await http(B, 'PUT', '/skydns/services/doomed', body('doomed'))).status, 201);
    // "alive" is heartbeated through B the whole time, as a service elsewhere would.
    beats = (async () => {
      while (beating) {
        await http(B, 'PATCH', '/skydns/services/alive', { TTL: 3 });
        await sleep(700);
      }
    })();
    for (const n of [A, S]) await until(`${n.name} has the services`, async () => (await srv(n, 'alive')).answers === 1 && (await srv(n, 'doomed')).answers === 1, 10_000, diag);
    const before = await ready(A);
    assert.equal(before.stale, false, JSON.stringify(before));
    assert.ok(typeof before.lagSeconds === 'number' && before.lagSeconds < 3, JSON.stringify(before));

    // 1. A partition shorter than the TTLs (1.5 s): a registration made meanwhile shows up right after the heal.
    cut();
    assert.equal((await http(B, 'PUT', '/skydns/services/brief', body('brief'))).status, 201);
    await sleep(1500);
    heal();
    const briefMs = await until('A sees "brief" after the short partition', async () => (await srv(A, 'brief')).answers === 1, 2000, diag);
    assert.equal((await srv(A, 'alive')).answers, 1, 'nothing expired over a short partition');
    t.diagnostic(`short partition (1.5 s): caught up ${briefMs} ms after the heal`);

    // 2. A partition longer than the TTLs, healed at an arbitrary moment of the re-list back-off.
    assert.equal((await srv(A, 'newcomer')).rcode, 'NXDOMAIN', 'true before the cut (and kept by the zone\'s answer map)');
    cut();
    const cutAt = Date.now();
    const lost = await http(A, 'PUT', '/skydns/services/lost', body('lost'));
    assert.equal(lost.status, 503, lost.body);
    assert.match(lost.body, /SKY_ERR_REGISTRY_UNAVAILABLE/);
    t.diagnostic(`write on the cut-off node refused after ${Date.now() - cutAt} ms: ${lost.body}`);
    assert.equal((await http(B, 'PUT', '/skydns/services/newcomer', body('newcomer'))).status, 201);
    assert.equal((await http(B, 'DELETE', '/skydns/services/doomed')).status, 200);
    const detectMs = await until('A reports itself stale', async () => (await ready(A)).stale === true, 10_000, diag);
    t.diagnostic(`partition detected (/ready stale) by the first poll ${Date.now() - cutAt} ms after the cut (${detectMs} ms of polling)`);
    const r = await ready(A);
    assert.equal(r.status, 200, 'still ready by default (no maxLagSeconds)');
    assert.ok(typeof r.lagSeconds === 'number' && r.lagSeconds >= 3, JSON.stringify(r));
    assert.ok((await lagMetric(A)) >= 3, 'the lag metric counts from the last contact');
    const again = await http(A, 'PUT', '/skydns/services/lost2', body('lost2'));
    assert.equal(again.status, 503);
    assert.match(again.body, /this node cannot reach etcd: tried 169\.254\.77\.1:2379 \(.*169\.254\.77\.1:2479 \(.*169\.254\.77\.1:2579 \(/, again.body);
    // Past alive's TTL (3 s) as A last knew it:
    await sleep(Math.max(0, cutAt + 5000 - Date.now()));
    assert.deepEqual(await srv(A, 'alive'), { rcode: 'NOERROR', answers: 1 }, 'serve: a heartbeated service is served stale, not denied');
    assert.equal((await srv(S, 'alive')).rcode, 'SERVFAIL', 'servfail: no NXDOMAIN for a service it cannot check');
    assert.equal((await srv(A, 'newcomer')).rcode, 'SERVFAIL', 'a name registered elsewhere meanwhile: SERVFAIL, not NXDOMAIN');
    assert.equal((await srv(A, 'nothing')).rcode, 'SERVFAIL');
    assert.deepEqual(await srv(A, 'doomed'), { rcode: 'NOERROR', answers: 1 }, 'a removal it has not heard of: still the old copy');
    await sleep(Math.random() * 8000); // the heal lands anywhere in the re-list back-off (partition of 5-13 s)
    const cutFor = Date.now() - cutAt;
    heal();
    const healedAt = Date.now();
    t.diagnostic(`healed at ${new Date(healedAt).toISOString()}`);
    const caught = await until('A caught up after the heal', async () => {
      const [n, d, rd] = [await srv(A, 'newcomer'), await srv(A, 'doomed'), await ready(A)];
      return n.answers === 1 && d.rcode === 'NXDOMAIN' && rd.stale === false;
    }, 2000, diag);
    t.diagnostic(`partition of ${cutFor} ms: caught up (newcomer, doomed gone, not stale) ${caught} ms after the heal (first poll that saw it)`);
    await until('S caught up', async () => (await srv(S, 'alive')).answers === 1 && (await srv(S, 'newcomer')).answers === 1, 2000, diag);
    // No refused write landed, anywhere.
    await sleep(1000);
    for (const id of ['lost', 'lost2']) {
      assert.equal((await http(B, 'GET', `/skydns/services/${id}`)).status, 404, `${id} was refused and must not exist`);
      assert.equal((await srv(A, id)).rcode, 'NXDOMAIN');
    }
    assert.ok((await lagMetric(A)) < 3);
  });

  it('a 500 ms and a 1 s round trip to etcd: writes succeed, the node stays in step', async (t) => {
    const pairs = CLIENT.map((p) => [p + 10_000, ETCD_IP, p]);
    await writeFile(join(dir, 'proxy.mjs'), PROXY);
    proxy = startInNs(N, 'proxy', [process.execPath, join(dir, 'proxy.mjs'), '250', '500', JSON.stringify(pairs)], dir);
    await until('proxy up', async () => proxy!.output().includes('proxy up'), 10_000, diag);
    await writeFile(join(dir, 'C.json5'), skyfile({ dns: C.dns, http: C.http, endpoints: pairs.map(([lp]) => `127.0.0.1:${lp}`) }));
    C.child = startInNs(N, 'skydns C', [process.execPath, join(root, 'bin/skydns'), 'serve', '-c', join(dir, 'C.json5')], dir);
    children.push(C.child);
    await until('C ready over the 500 ms link', async () => (await ready(C)).status === 200, 30_000, diag);
    for (const [rtt, id] of [[500, 'slow1'], [1000, 'slow2']] as const) {
      if (rtt === 1000) proxy.proc.kill('SIGUSR1');
      await sleep(2500); // a few probes measure the new round trip
      const started = Date.now();
      const put = await http(C, 'PUT', `/skydns/services/${id}`, body(id, { TTL: 30 }));
      assert.equal(put.status, 201, `${rtt} ms RTT: ${put.body}${diag()}`);
      const beat = await http(C, 'PATCH', `/skydns/services/${id}`, { TTL: 30 });
      assert.equal(beat.status, 200, `${rtt} ms RTT heartbeat: ${beat.body}`);
      t.diagnostic(`${rtt} ms RTT: register + heartbeat took ${Date.now() - started} ms`);
      assert.equal((await srv(B, id)).answers, 1, 'committed in etcd');
      assert.equal((await srv(C, id)).answers, 1, 'and in the slow node\'s copy (read-your-writes)');
      const rd = await ready(C);
      assert.equal(rd.stale, false, `${rtt} ms RTT: not stale: ${JSON.stringify(rd)}`);
    }
  });
});

function spawnDel(ns: string): void {
  try {
    sh('ip', ['netns', 'del', ns]);
  } catch {
    /* already gone */
  }
}
