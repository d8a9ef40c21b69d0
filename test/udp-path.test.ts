/**
 * Which UDP path serves, and the way back to dgram: the server reports its
 * path (log line, metrics), `dns.udp: "native"` without the addon is a clear
 * error at check and at start, and a build with no compiler leaves a server
 * that serves on node:dgram. Real processes, real sockets, dig.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { queryUdp } from '../src/testing/client.js';
import { freePort } from '../src/testing/ports.js';
import { startServer } from '../src/testing/server.js';
import { expectedUdpPath } from './udp-expect.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/skydns');
const echo = fileURLToPath(new URL('./fixtures/echo-plugin.js', import.meta.url));
const chain = `[{ ${JSON.stringify(echo)}: { address: "192.0.2.1" } }]`;
const hasDig = spawnSync('sh', ['-c', 'command -v dig']).status === 0;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skydns-udp-path-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The environment of a child that must decide on its own (no SKYDNS_UDP from the suite), plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.SKYDNS_UDP;
  return env;
}

test('the server reports its UDP path in the metrics and answers on it', async () => {
  const s = await startServer(`{ chain: [{ metrics: { listen: "127.0.0.1:0", process: false } }, { ${JSON.stringify(echo)}: {} }] }`);
  try {
    const path = expectedUdpPath();
    assert.equal(s.app.server.udpPath, path);
    const a = await s.udp('a.echo.test', 'A');
    assert.equal(a.rcode, 'NOERROR');
    const text = await s.app.metrics.registry.metrics();
    assert.match(text, new RegExp(`^skydns_udp_io\\{path="${path}"\\} 1$`, 'm'));
    assert.match(text, /^skydns_udp_dropped_replies_total 0$/m);
  } finally {
    await s.stop();
  }
});

test('dns.udp "native" without the addon: skydns check and serve fail with SKY_ERR_UDP_NATIVE_UNAVAILABLE; "dgram" serves', async () => {
  const port = await freePort();
  const f = join(dir, 'native.json5');
  await writeFile(f, `{ dns: { listen: ["127.0.0.1:${port}"], udp: "native" }, chain: ${chain} }`);
  const env = childEnv({ SKYDNS_UDP_ADDON: join(dir, 'missing.node') });
  for (const cmd of ['check', 'serve']) {
    const r = spawnSync(process.execPath, [bin, cmd, '-c', f], { encoding: 'utf8', env, timeout: 60000 });
    assert.equal(r.status, 1, `${cmd}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /SKY_ERR_UDP_NATIVE_UNAVAILABLE: dns\.udp is "native" but the native UDP addon is not built .*missing\.node/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  await writeFile(f, `{ dns: { listen: ["127.0.0.1:${port}"], udp: "dgram" }, chain: ${chain} }`);
  const ok = spawnSync(process.execPath, [bin, 'check', '-c', f], { encoding: 'utf8', env });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^udp: dgram$/m);
  await writeFile(f, `{ dns: { listen: ["127.0.0.1:${port}"], udp: "fast" }, chain: ${chain} }`);
  const bad = spawnSync(process.execPath, [bin, 'check', '-c', f], { encoding: 'utf8', env });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /SKY_ERR_CONFIG_INVALID: .*dns\.udp/);
});

test('a build with no C compiler exits 0 with one line, and the server then serves UDP on node:dgram (dig)', { skip: !hasDig && process.env.CI !== 'true' && 'dig missing' }, async () => {
  const out = join(dir, 'nocc');
  const b = spawnSync(process.execPath, [join(root, 'scripts/build-native.mjs'), '--out', out], { encoding: 'utf8', env: childEnv({ CC: join(dir, 'no-such-cc') }) });
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stderr, '');
  assert.equal(b.stdout.trim().split('\n').length, 1, b.stdout);
  assert.match(b.stdout, /^skydns: native UDP socket not built \(cannot run the C compiler .*no-such-cc.*\); the server will use node:dgram for UDP$/m);
  assert.equal(existsSync(out) ? readdirSync(out).length : 0, 0, 'nothing left behind');

  const port = await freePort();
  const f = join(dir, 'fallback.json5');
  await writeFile(f, `{ dns: { listen: ["127.0.0.1:${port}"] }, chain: ${chain} }`);
  const child = spawn(process.execPath, [bin, 'serve', '-c', f], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv({ SKYDNS_UDP_ADDON: join(out, 'skydns_udp.node') }) });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    while (!text.includes('serving DNS')) {
      if (child.exitCode !== null) assert.fail(`server exited early: ${text}`);
      await new Promise((r) => child.stdout.once('data', r));
    }
    assert.match(text, /UDP on node:dgram/);
    assert.match(text, /"udp":"dgram"/);
    const dig = spawnSync('dig', ['+short', '+time=2', '+tries=2', '-p', String(port), '@127.0.0.1', 'who.echo.test', 'A'], { encoding: 'utf8' });
    assert.equal(dig.status, 0, dig.stderr);
    assert.match(dig.stdout, /^192\.0\.2\.1$/m);
    assert.equal((await queryUdp('127.0.0.1', port, 'x.echo.test', 'A')).rcode, 0);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
