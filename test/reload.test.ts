/** Reload (in process, by SIGHUP and by editing the file) and graceful shutdown. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSkyfile } from '../src/config/load.js';
import { isSkyError } from '../src/errors.js';
import { queryUdp, sendUdp, buildQuery } from '../src/testing/client.js';
import { freePort, occupyPort } from '../src/testing/ports.js';
import { startServer } from '../src/testing/server.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const echo = join(fixtures, 'echo-plugin.js');
const skyfile = (address: string, listen = '127.0.0.1:0', extra = '') =>
  `{ dns: { listen: ["${listen}"] }, ${extra} chain: ["log", { "${echo}": { address: "${address}" } }] }`;

test('reload swaps the chain under a query stream with zero failed queries', async () => {
  const srv = await startServer(skyfile('192.0.2.1'), { baseDir: fixtures });
  try {
    const logBefore = srv.app.plugins[0]!.plugin;
    const echoBefore = srv.app.plugins[1]!.plugin;
    let stop = false;
    const seen = new Set<string>();
    let failures = 0;
    let answered = 0;
    const worker = async () => {
      while (!stop) {
        const r = await queryUdp('127.0.0.1', srv.port, `w${answered}.echo.test`, 'A').catch(() => null);
        if (!r || r.rcode !== 0) failures++;
        else seen.add(String(r.answers![0]!.data));
        answered++;
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    while (answered < 200) await new Promise((r) => setImmediate(r));
    await srv.app.reload(await parseSkyfile(skyfile('192.0.2.2'), { baseDir: fixtures }));
    const after = answered;
    while (answered < after + 200) await new Promise((r) => setImmediate(r));
    stop = true;
    await Promise.all(workers);
    assert.equal(failures, 0);
    assert.deepEqual([...seen].sort(), ['192.0.2.1', '192.0.2.2']);
    assert.equal((await srv.udp('x.echo.test', 'A')).msg!.answers![0]!.data, '192.0.2.2');
    // the unchanged plugin kept its instance, the changed one was replaced
    assert.equal(srv.app.plugins[0]!.plugin, logBefore);
    assert.notEqual(srv.app.plugins[1]!.plugin, echoBefore);
  } finally {
    await srv.stop();
  }
});

test('reload moves listeners: unchanged addresses stay open, a failed bind changes nothing', async () => {
  const srv = await startServer(skyfile('192.0.2.1'), { baseDir: fixtures });
  const { port: busy, close } = await occupyPort();
  try {
    const listen = srv.app.server.addresses()[0]!;
    const bad = await parseSkyfile(`{ dns: { listen: ["${listen}", "127.0.0.1:${busy}"] }, chain: [{ "${echo}": { address: "192.0.2.3" } }] }`, { baseDir: fixtures });
    await assert.rejects(srv.app.reload(bad), (e: unknown) => isSkyError(e, 'SKY_ERR_LISTEN'));
    assert.deepEqual(srv.app.server.addresses(), [listen]);
    assert.equal((await srv.udp('x.echo.test', 'A')).rcode, 'NOERROR');
  } finally {
    await close();
    await srv.stop();
  }
});

function serve(file: string) {
  const child = spawn(process.execPath, [join(root, 'bin/skydns'), 'serve', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const waitFor = async (text: string) => {
    while (!out.includes(text)) {
      if (child.exitCode !== null) assert.fail(`server exited: ${out}`);
      await new Promise((r) => {
        child.stdout.once('data', r);
        child.stderr.once('data', r);
      });
    }
  };
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, waitFor, exited, output: () => out };
}

test('SIGHUP with a broken Skyfile keeps serving and logs the error; a file edit reloads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-reload-'));
  const port = await freePort();
  const file = join(dir, 'Skyfile');
  await writeFile(file, skyfile('192.0.2.1', `127.0.0.1:${port}`, 'reload: { debounceMs: 50 },'));
  const s = serve(file);
  try {
    await s.waitFor('serving DNS');
    await writeFile(file, '{ chain: [ "log", }');
    // the watcher reports the broken file by itself; SIGHUP does the same on demand
    await s.waitFor('reload failed');
    s.child.kill('SIGHUP');
    await s.waitFor('"reason":"SIGHUP"');
    assert.match(s.output(), /SKY_ERR_CONFIG_SYNTAX/);
    assert.equal((await queryUdp('127.0.0.1', port, 'a.echo.test', 'A')).answers![0]!.data, '192.0.2.1');
    await writeFile(file, skyfile('192.0.2.7', `127.0.0.1:${port}`, 'reload: { debounceMs: 50 },'));
    // The broken file's reload already logged a "file change": poll the answer itself, bounded.
    let data = '';
    for (const until = Date.now() + 15_000; data !== '192.0.2.7' && Date.now() < until; ) {
      data = String((await queryUdp('127.0.0.1', port, 'b.echo.test', 'A')).answers![0]!.data);
      if (data !== '192.0.2.7') await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(data, '192.0.2.7');
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
  } finally {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('SIGTERM finishes queries in flight, then exits 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-stop-'));
  const port = await freePort();
  const file = join(dir, 'Skyfile');
  await writeFile(file, skyfile('192.0.2.1', `127.0.0.1:${port}`, 'reload: { watch: false },'));
  const s = serve(file);
  try {
    await s.waitFor('serving DNS');
    const q = buildQuery('delay-400.test', 'A', { id: 4321 });
    const pending = sendUdp('127.0.0.1', port, q, 5000);
    await s.waitFor('echo: delay-400.test received');
    s.child.kill('SIGTERM');
    const reply = await pending;
    assert.ok(reply, 'the query in flight was answered');
    assert.equal(reply!.readUInt16BE(0), 4321);
    assert.equal(reply![3]! & 0xf, 0);
    assert.equal(await s.exited, 0);
    assert.match(s.output(), /finishing those in flight/);
  } finally {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
