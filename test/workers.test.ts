/**
 * `workers: 2` as a user runs it: `skydns serve` becomes a primary that owns
 * the registry and forks two workers sharing the DNS port (port 0 included)
 * and the HTTP listeners. Which worker answered is read from the group's
 * metrics (every series carries `worker="<slot>"`). Everything binds
 * 127.0.0.1; the only processes signalled are the ones this file started.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildQuery, queryTcp, queryUdp, sendUdp, type Answer } from '../src/testing/client.js';
import { occupyPort } from '../src/testing/ports.js';
import { parsePrometheus } from '../src/testing/prometheus.js';
import { expectedUdpPath } from './udp-expect.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const echo = fileURLToPath(new URL('./fixtures/echo-plugin.js', import.meta.url));
const DEADLINE_MS = 30_000;

function skyfile(o: { echo?: string; dns?: string; workers?: unknown } = {}): string {
  return `{
  dns: { listen: ["${o.dns ?? '127.0.0.1:0'}"] },
  workers: ${JSON.stringify(o.workers ?? 2)},
  registry: { path: "./data", fsync: false },
  reload: { watch: false },
  shutdown: { graceMs: 3000 },
  chain: [
    { metrics: { listen: "127.0.0.1:0", process: false } },
    { health: { listen: "127.0.0.1:0" } },
    { api: { listen: "127.0.0.1:0" } },
    { "${echo}": { address: "${o.echo ?? '192.0.2.1'}" } },
    { skydns: { zone: "skydns.local" } },
    { synth: { zone: "skydns.local" } },
  ],
}`;
}

interface Group {
  dir: string;
  file: string;
  pid: number;
  dns: { host: string; port: number };
  /** Base URL, scrape URL, base URL. */
  api: string;
  metrics: string;
  health: string;
  output(): string;
  /** Waits (bounded) until the output has `count` occurrences of `text`. */
  waitFor(text: string, count?: number): Promise<void>;
  /** Log lines (JSON) whose message starts with `msg`. */
  lines(msg: string): Array<Record<string, unknown>>;
  signal(sig: NodeJS.Signals): void;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

async function start(text = skyfile(), dir?: string): Promise<Group> {
  dir ??= await mkdtemp(join(tmpdir(), 'skydns-workers-'));
  const file = join(dir, 'Skyfile');
  await writeFile(file, text);
  const child = spawn(process.execPath, [join(root, 'bin/skydns'), 'serve', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let out = '';
  const grew: Array<() => void> = [];
  const onData = (d: Buffer): void => {
    out += d;
    for (const r of grew.splice(0)) r();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => {
    for (const g of grew.splice(0)) g();
    r(code);
  }));
  const count = (t: string): number => out.split(t).length - 1;
  const waitFor = async (t: string, n = 1): Promise<void> => {
    const end = Date.now() + DEADLINE_MS;
    while (count(t) < n) {
      if (child.exitCode !== null) assert.fail(`server exited waiting for ${t}:\n${out}`);
      if (Date.now() > end) assert.fail(`no "${t}" (x${n}) within ${DEADLINE_MS} ms:\n${out}`);
      await new Promise<void>((r) => {
        grew.push(r);
        setTimeout(r, 200).unref();
      });
    }
  };
  const lines = (msg: string): Array<Record<string, unknown>> =>
    out.split('\n').flatMap((l) => {
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        return typeof j.msg === 'string' && j.msg.startsWith(msg) ? [j] : [];
      } catch {
        return [];
      }
    });
  const g: Group = {
    dir, file, pid: child.pid!, output: () => out, waitFor, lines, exited,
    dns: { host: '', port: 0 }, api: '', metrics: '', health: '',
    signal: (sig) => void child.kill(sig),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      await rm(dir!, { recursive: true, force: true });
    },
  };
  return g;
}

/** Starts a group and reads the addresses it bound (port 0 everywhere) from its logs. */
async function serve(text = skyfile()): Promise<Group> {
  const g = await start(text);
  try {
    await g.waitFor('SkyDNS serving DNS on');
    // Each process writes its own log lines: the workers' may reach the pipe after the primary's.
    await g.waitFor('"msg":"worker serving"', 2);
    await g.waitFor('"msg":"api listening', 2);
    const listen = (g.lines('SkyDNS serving DNS on')[0]!.listen as string[])[0]!;
    const [, host, port] = /^(.*):(\d+)$/.exec(listen)!;
    g.dns = { host: host!, port: Number(port) };
    const addr = (plugin: string): string[] => g.output().split('\n').flatMap((l) => {
      try {
        const j = JSON.parse(l) as { plugin?: string; address?: string };
        return j.plugin === plugin && j.address ? [j.address] : [];
      } catch {
        return [];
      }
    });
    const served = g.lines('worker serving');
    assert.equal(served.length, 2);
    for (const s of served) assert.deepEqual(s.listen, [listen], 'every worker serves the same DNS address');
    for (const p of ['metrics', 'health', 'api']) assert.equal(new Set(addr(p)).size, 1, `every worker shares the ${p} listener: ${addr(p)}`);
    g.metrics = addr('metrics')[0]!; // logged as the scrape URL
    g.health = `http://${addr('health')[0]!}`; // logged as host:port
    g.api = addr('api')[0]!; // logged as the base URL
    for (const u of [g.metrics, g.health, g.api]) assert.match(u, /^http:\/\/127\.0\.0\.1:\d+(\/|$)/, 'loopback URLs only');
    return g;
  } catch (err) {
    await g.stop();
    throw err;
  }
}

async function perWorker(g: Group, name: string, labels: Record<string, string>): Promise<Map<string, number>> {
  const m = parsePrometheus(await (await fetch(g.metrics)).text());
  const out = new Map<string, number>();
  for (const s of m.samples) {
    if (s.name !== name || !Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    out.set(s.labels.worker!, (out.get(s.labels.worker!) ?? 0) + s.value);
  }
  return out;
}

/**
 * Sends UDP queries in small parallel batches until both workers answered at
 * least one more `rcode` reply from `plugin` than in `before`; every answer
 * must pass `check`. Returns how many queries it took.
 */
async function untilBothAnswer(g: Group, q: { name: string; type: string; rcode: string; plugin: string }, check: (a: Answer) => void): Promise<number> {
  const labels = { rcode: q.rcode, plugin: q.plugin };
  const before = await perWorker(g, 'skydns_dns_responses_total', labels);
  const end = Date.now() + DEADLINE_MS;
  let sent = 0;
  for (;;) {
    const answers = await Promise.all(Array.from({ length: 8 }, () => queryUdp(g.dns.host, g.dns.port, q.name, q.type)));
    sent += answers.length;
    for (const a of answers) check(a);
    const now = await perWorker(g, 'skydns_dns_responses_total', labels);
    if (['1', '2'].every((w) => (now.get(w) ?? 0) > (before.get(w) ?? 0))) return sent;
    if (Date.now() > end) assert.fail(`both workers did not answer within ${DEADLINE_MS} ms (${sent} queries): ${JSON.stringify([...now])}`);
  }
}

const SVC = { Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '192.0.2.10', Port: 8080, TTL: 60 };

async function api(g: Group, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${g.api}${path}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
}

const addresses = (a: Answer): string[] => (a.answers ?? []).map((r) => String(r.data));

test('workers: 2 share one port and one registry: a registration, its removal and its expiry reach both workers', async () => {
  const g = await serve();
  try {
    assert.equal((await fetch(`${g.health}/ready`)).status, 200);
    const put = await api(g, 'PUT', '/skydns/services/w1', { ...SVC, UUID: 'w1' });
    assert.equal(put.status, 201);
    await untilBothAnswer(g, { name: 'web.production.skydns.local', type: 'A', rcode: 'NOERROR', plugin: 'synth' }, (a) => {
      assert.equal(a.rcode, 0);
      assert.deepEqual(addresses(a), ['192.0.2.10'], 'every answer, from either worker, sees the registration');
    });
    // TCP connections are handed to the workers in turn by the primary: both see it too.
    for (let i = 0; i < 4; i++) assert.deepEqual(addresses(await queryTcp(g.dns.host, g.dns.port, 'web.production.skydns.local', 'A')), ['192.0.2.10']);
    assert.equal((await api(g, 'PUT', '/skydns/services/w1', { ...SVC, UUID: 'w1' })).status, 409, 'the primary\'s registry answers for every worker');
    assert.equal((await api(g, 'DELETE', '/skydns/services/w1')).status, 200);
    await untilBothAnswer(g, { name: 'web.production.skydns.local', type: 'A', rcode: 'NXDOMAIN', plugin: 'skydns' }, (a) => assert.equal(a.rcode, 3));
    assert.equal((await api(g, 'DELETE', '/skydns/services/w1')).status, 404);

    // Expiry: TTL 1 s, then poll (bounded) until the name is gone; then every worker says NXDOMAIN.
    assert.equal((await api(g, 'PUT', '/skydns/services/t1', { ...SVC, UUID: 't1', Name: 'tmp', TTL: 1 })).status, 201);
    const end = Date.now() + DEADLINE_MS;
    while ((await queryUdp(g.dns.host, g.dns.port, 'tmp.production.skydns.local', 'A')).rcode !== 3) {
      assert.ok(Date.now() < end, 'the 1 s registration expired');
    }
    await untilBothAnswer(g, { name: 'tmp.production.skydns.local', type: 'A', rcode: 'NXDOMAIN', plugin: 'skydns' }, (a) => assert.equal(a.rcode, 3));
  } finally {
    await g.stop();
  }
});

test('a worker killed with SIGKILL is forked again and serves the registry it had; a broken Skyfile on disk does not reach it', async () => {
  const g = await serve();
  try {
    assert.equal((await api(g, 'PUT', '/skydns/services/k1', { ...SVC, UUID: 'k1' })).status, 201);
    const victim = g.lines('worker started').find((l) => l.worker === 1)!.pid as number;
    // The Skyfile on disk is now broken: a re-forked worker must run the last good text from the primary.
    await writeFile(g.file, '{ chain: [ "log", }');
    process.kill(victim, 'SIGKILL');
    await g.waitFor('worker 1 died');
    await g.waitFor('"msg":"worker started"', 3);
    const again = g.lines('worker started').filter((l) => l.worker === 1).at(-1)!.pid as number;
    assert.notEqual(again, victim);
    await untilBothAnswer(g, { name: 'web.production.skydns.local', type: 'A', rcode: 'NOERROR', plugin: 'synth' }, (a) => {
      assert.deepEqual(addresses(a), ['192.0.2.10'], 'no registration was lost');
    });
    assert.equal((await api(g, 'PUT', '/skydns/services/k2', { ...SVC, UUID: 'k2', Host: '192.0.2.11' })).status, 201);
    await untilBothAnswer(g, { name: 'k2.skydns.local', type: 'A', rcode: 'NOERROR', plugin: 'synth' }, (a) => assert.deepEqual(addresses(a), ['192.0.2.11']));
  } finally {
    await g.stop();
  }
});

test('SIGHUP reloads every worker; an invalid Skyfile is logged and the previous one keeps serving', async () => {
  const g = await serve(skyfile({ echo: '192.0.2.1' }));
  try {
    await untilBothAnswer(g, { name: 'a.echo.test', type: 'A', rcode: 'NOERROR', plugin: echo }, (a) => assert.deepEqual(addresses(a), ['192.0.2.1']));
    await writeFile(g.file, skyfile({ echo: '192.0.2.2' }));
    g.signal('SIGHUP');
    await g.waitFor('every worker reloaded');
    await g.waitFor('"msg":"configuration reloaded"', 2); // each worker reloaded its own app
    assert.deepEqual(g.lines('configuration reloaded').map((l) => l.worker).sort(), [1, 2]);
    await untilBothAnswer(g, { name: 'b.echo.test', type: 'A', rcode: 'NOERROR', plugin: echo }, (a) => assert.deepEqual(addresses(a), ['192.0.2.2']));
    await writeFile(g.file, skyfile({ echo: '192.0.2.3', workers: 0 }));
    g.signal('SIGHUP');
    await g.waitFor('reload failed');
    assert.match(g.output(), /SKY_ERR_CONFIG_INVALID/);
    await untilBothAnswer(g, { name: 'c.echo.test', type: 'A', rcode: 'NOERROR', plugin: echo }, (a) => assert.deepEqual(addresses(a), ['192.0.2.2']));
  } finally {
    await g.stop();
  }
});

test('SIGTERM: the workers answer the query in flight, the primary closes the registry and exits 0', async () => {
  const g = await serve();
  try {
    const q = buildQuery('delay-400.test', 'A', { id: 4321 });
    const pending = sendUdp(g.dns.host, g.dns.port, q, 5000);
    await g.waitFor('echo: delay-400.test received');
    g.signal('SIGTERM');
    const reply = await pending;
    assert.ok(reply, 'the query in flight was answered');
    assert.equal(reply!.readUInt16BE(0), 4321);
    assert.equal(reply![3]! & 0xf, 0);
    assert.equal(await g.exited, 0);
    assert.equal(g.lines('worker stopping: no new queries; finishing those in flight').length, 2);
    assert.equal(g.lines('stopped').length, 1);
  } finally {
    await g.stop();
  }
});

test('workers that cannot bind exit the group non-zero with SKY_ERR_LISTEN', async () => {
  const busy = await occupyPort();
  const g = await start(skyfile({ dns: `127.0.0.1:${busy.port}` }));
  try {
    assert.equal(await g.exited, 1);
    assert.match(g.output(), /skydns: SKY_ERR_LISTEN: .*address already in use/);
  } finally {
    await busy.close();
    await g.stop();
  }
});

test('skydns check rejects workers: 0 and workers: "many" with the key path and line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-workers-check-'));
  try {
    for (const bad of [0, 'many', 1.5]) {
      const file = join(dir, 'Skyfile');
      await writeFile(file, skyfile({ workers: bad }));
      const r = spawnSync(process.execPath, [join(root, 'bin/skydns'), 'check', '-c', file], { encoding: 'utf8' });
      assert.equal(r.status, 1, `workers: ${JSON.stringify(bad)}`);
      assert.match(r.stderr, /SKY_ERR_CONFIG_INVALID: workers: must be an integer from 1 to 1024 or "auto" \(at workers, line 3, column \d+\)/);
    }
    await writeFile(join(dir, 'Skyfile'), skyfile({ workers: 'auto' }));
    const ok = spawnSync(process.execPath, [join(root, 'bin/skydns'), 'check', '-c', join(dir, 'Skyfile')], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /workers: auto/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Inodes of the UDP sockets bound to `port` (any address), from /proc/net/udp{,6}. */
function udpInodes(port: number): Set<string> {
  const out = new Set<string>();
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && parseInt(cols[1]!.split(':')[1]!, 16) === port) out.add(cols[9]!);
    }
  }
  return out;
}

/** The socket inodes process `pid` holds open. */
function socketsOf(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

test('UDP sockets of a group: native gives each worker its own SO_REUSEPORT socket on the one port; dgram shares one', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const g = await serve();
  try {
    const path = expectedUdpPath();
    assert.match(g.lines('SkyDNS serving DNS on')[0]!.msg as string, path === 'native' ? /UDP on the native batched socket/ : /UDP on node:dgram/);
    for (const s of g.lines('worker serving')) assert.equal(s.udp, path);
    const pids = g.lines('worker started').map((l) => l.pid as number);
    const inodes = udpInodes(g.dns.port);
    const held = pids.map((p) => [...socketsOf(p)].filter((i) => inodes.has(i)));
    if (path === 'native') {
      assert.equal(inodes.size, 2, 'two sockets on the port');
      for (const h of held) assert.equal(h.length, 1, 'each worker holds one');
      assert.notEqual(held[0]![0], held[1]![0]);
    } else {
      assert.equal(inodes.size, 1, 'one socket, shared by the cluster');
    }
    const io = await perWorker(g, 'skydns_udp_io', { path });
    assert.deepEqual([...io.values()], [1, 1]);
    // Both workers answer (the kernel spreads datagrams over the SO_REUSEPORT group by source port).
    await untilBothAnswer(g, { name: 'a.echo.test', type: 'A', rcode: 'NOERROR', plugin: echo }, (a) => assert.deepEqual(addresses(a), ['192.0.2.1']));
  } finally {
    await g.stop();
  }
});

test('watch with workers: streams on every worker see the changes made through any worker', async () => {
  const g = await serve();
  const streams: Array<{ ac: AbortController; epochs: Set<string>; seen: string[] }> = [];
  try {
    // Each stream holds its own connection; the group hands connections out over both workers.
    for (let i = 0; i < 6; i++) {
      const ac = new AbortController();
      const res = await fetch(`${g.api}/skydns/watch?query=web.production`, { headers: { accept: 'text/event-stream' }, signal: ac.signal });
      assert.equal(res.status, 200);
      const s = { ac, epochs: new Set<string>(), seen: [] as string[] };
      streams.push(s);
      void (async () => {
        let buf = '';
        for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          let at: number;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            const ev = /^event: (.*)$/m.exec(block)?.[1];
            const id = /^id: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!ev || !id || !data) continue;
            s.epochs.add(id.slice(0, id.lastIndexOf('-')));
            if (ev !== 'reset') s.seen.push(`${ev}:${(JSON.parse(data) as { service: { UUID: string } }).service.UUID}`);
          }
        }
      })().catch(() => undefined);
    }
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${g.api}/skydns/services/w${i}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SVC) });
      assert.equal(r.status, 201);
    }
    assert.equal((await fetch(`${g.api}/skydns/services/w0`, { method: 'DELETE' })).status, 200);
    const want = ['registered:w0', 'registered:w1', 'registered:w2', 'registered:w3', 'deleted:w0'];
    const end = Date.now() + DEADLINE_MS;
    while (!streams.every((s) => s.seen.length >= want.length)) {
      if (Date.now() > end) assert.fail(`not every stream saw every change: ${JSON.stringify(streams.map((s) => s.seen))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of streams) assert.deepEqual(s.seen, want);
    // One change log per worker: the epochs tell the workers' streams apart (a reconnect to the other worker gets a reset).
    const epochs = new Set(streams.flatMap((s) => [...s.epochs]));
    assert.ok(epochs.size >= 1 && epochs.size <= 2, [...epochs].join());
  } finally {
    for (const s of streams) s.ac.abort();
    await g.stop();
  }
});
