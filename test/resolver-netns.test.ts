/**
 * "Use as your resolver", proved end to end: inside a network namespace of
 * its own, SkyDNS listens on 127.0.0.1:53 and /etc/netns/<ns>/resolv.conf
 * says `nameserver 127.0.0.1`, so the namespace's libc resolver (getent) asks
 * SkyDNS for everything. A registered service resolves from the discovery
 * zone; any other name is forwarded to a test upstream (also inside the
 * namespace, on 127.0.0.1:5300), as the real internet would be.
 *
 * Needs root (CAP_SYS_ADMIN) and `ip` (iproute2). Where a namespace cannot be
 * created the test is skipped with a loud message; in CI (CI=true) it fails.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ns = `skydns-test-${process.pid}`;
const nsEtc = `/etc/netns/${ns}`;
const WEB = 'web.production.skydns.local';

/** Runs a command inside the namespace and waits for it (bounded). */
function inNs(cmd: string, args: string[], timeoutMs = 15_000) {
  return spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs });
}

/** Why a namespace cannot be made here, or null when it can (the probe namespace is removed again). */
function cannotCreateNamespaces(): string | null {
  if (spawnSync('sh', ['-c', 'command -v ip']).status !== 0) return '`ip` (iproute2) is not installed';
  const probe = `skydns-probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 10_000 });
  if (add.status !== 0) return `\`ip netns add\` failed (${(add.stderr || add.error?.message || '').trim() || `exit ${add.status}`}); root / CAP_SYS_ADMIN is needed`;
  spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  return null;
}

/** A child process inside the namespace, its output kept for failure messages. */
interface Child {
  proc: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

function startInNs(args: string[], cwd: string): Child {
  // `ip netns exec` enters the namespace and execs the command: the PID we hold is the command's own.
  const proc = spawn('ip', ['netns', 'exec', ns, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, output: () => out, exited };
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s; by PID, only our own children. */
async function stopChild(c: Child | undefined): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
  await c.exited;
  clearTimeout(t);
}

/** Run once inside the namespace: waits (bounded) for SkyDNS to be ready, then registers a service over HTTP. */
const CLIENT = `
const ready = async () => { try { return (await fetch('http://127.0.0.1:8181/ready')).status === 200; } catch { return false; } };
let ok = false;
for (let i = 0; i < 150 && !(ok = await ready()); i++) await new Promise((r) => setTimeout(r, 100));
if (!ok) { console.error('SkyDNS did not become ready within 15 s'); process.exit(2); }
const res = await fetch('http://127.0.0.1:8080/skydns/services/1001', {
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '192.0.2.10', Port: 8080, TTL: 300 }),
});
console.log(res.status, await res.text());
process.exit(res.status === 201 ? 0 : 1);
`;

const UPSTREAM = (dist: string) => `
import { startUpstream } from ${JSON.stringify(join(dist, 'src/testing/upstream.js'))};
await startUpstream({ port: 5300, records: ['outside.example. 300 IN A 192.0.2.55'] });
console.log('upstream on 127.0.0.1:5300');
`;

const SKYFILE = `{
  dns: { listen: ["127.0.0.1:53"] },
  registry: { backend: "embedded", path: "./data" },
  log: { level: "info" },
  chain: [
    { health: { listen: "127.0.0.1:8181" } },
    { api: { listen: "127.0.0.1:8080" } },
    { skydns: { zone: "skydns.local" } },
    { synth: { zone: "skydns.local" } },
    { forward: { to: ["127.0.0.1:5300"] } },
  ],
}
`;

test('SkyDNS on 127.0.0.1:53 as the only nameserver of a network namespace: getent resolves services and forwarded names', async (t) => {
  const why = cannotCreateNamespaces();
  if (why) {
    if (process.env.CI === 'true') assert.fail(`network namespaces are needed in CI: ${why}`);
    const bar = '!'.repeat(78);
    process.stderr.write(`\n${bar}\n!! SKIPPED resolver-netns: cannot create a network namespace: ${why}.\n!! The "use as your resolver" path (resolv.conf -> SkyDNS on port 53) is NOT tested here.\n${bar}\n`);
    t.skip(why);
    return;
  }

  const dir = await mkdtemp(join(tmpdir(), 'skydns-netns-'));
  const hadNetnsDir = existsSync('/etc/netns');
  let upstream: Child | undefined;
  let skydns: Child | undefined;
  let nsCreated = false;
  try {
    const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(add.status, 0, `ip netns add ${ns}: ${add.stderr}`);
    nsCreated = true;
    const lo = spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(lo.status, 0, `lo up: ${lo.stderr}`);
    // `ip netns exec` bind-mounts the files of /etc/netns/<ns>/ over /etc/ for the command it runs.
    mkdirSync(nsEtc, { recursive: true });
    writeFileSync(join(nsEtc, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n');

    await writeFile(join(dir, 'Skyfile'), SKYFILE);
    await writeFile(join(dir, 'upstream.mjs'), UPSTREAM(join(root, 'dist')));
    await writeFile(join(dir, 'client.mjs'), CLIENT);

    upstream = startInNs([process.execPath, join(dir, 'upstream.mjs')], dir);
    skydns = startInNs([process.execPath, join(root, 'bin/skydns'), 'serve', '-c', join(dir, 'Skyfile')], dir);
    const diag = () => `\n--- skydns output ---\n${skydns?.output() ?? ''}\n--- upstream output ---\n${upstream?.output() ?? ''}`;

    const reg = inNs(process.execPath, [join(dir, 'client.mjs')], 30_000);
    assert.equal(reg.status, 0, `registration inside the namespace failed: ${reg.stdout}${reg.stderr}${diag()}`);

    // Through the namespace's libc resolver: nsswitch "dns" reads resolv.conf, which names SkyDNS.
    const svc = inNs('getent', ['ahosts', WEB]);
    assert.equal(svc.status, 0, `getent ahosts ${WEB} failed (exit ${svc.status}): ${svc.stdout}${svc.stderr}${diag()}`);
    assert.match(svc.stdout, /^192\.0\.2\.10\s+STREAM\s/m, svc.stdout);

    const outside = inNs('getent', ['hosts', 'outside.example']);
    assert.equal(outside.status, 0, `getent hosts outside.example failed (exit ${outside.status}): ${outside.stdout}${outside.stderr}${diag()}`);
    assert.match(outside.stdout, /^192\.0\.2\.55\s+outside\.example$/m, outside.stdout);

    const missing = inNs('getent', ['hosts', `nothing.${WEB}`]);
    assert.equal(missing.status, 2, `an unknown service is "not found" (exit 2): ${missing.stdout}`);

    // dig with no @server reads the same resolv.conf.
    if (spawnSync('sh', ['-c', 'command -v dig']).status === 0) {
      const dig = inNs('dig', ['+short', '+time=2', '+tries=1', 'SRV', WEB]);
      assert.equal(dig.status, 0, dig.stderr);
      assert.match(dig.stdout, /^10 100 8080 /m, dig.stdout);
    } else if (process.env.CI === 'true') {
      assert.fail('dig is not installed (CI installs dnsutils)');
    }
  } finally {
    await stopChild(skydns);
    await stopChild(upstream);
    if (nsCreated) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
    rmSync(nsEtc, { recursive: true, force: true });
    if (!hadNetnsDir) spawnSync('rmdir', ['/etc/netns']); // only if empty: another run may be using it
    await rm(dir, { recursive: true, force: true });
  }
});
