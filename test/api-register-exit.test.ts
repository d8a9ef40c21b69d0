/**
 * `register()` in a real service process against a real server: the heartbeat
 * timer keeps the process alive, and `deregisterOnExit` deregisters on
 * SIGTERM/SIGINT before the signal ends the process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ApiPlugin } from '../plugins/api/index.js';
import { startServer, type TestServer } from '../src/testing/server.js';

const CHILD = fileURLToPath(new URL('./register-child.js', import.meta.url));

interface Child {
  /** Resolves with the first line the child printed. */
  line: Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(sig: NodeJS.Signals): void;
  stderr(): string;
}

function child(url: string, uuid: string, mode: 'exit' | 'unref' | 'plain', ttl = 300): Child {
  const p = spawn(process.execPath, [CHILD, url, uuid, mode, String(ttl)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.once('exit', (code, signal) => r({ code, signal })));
  const line = new Promise<string>((resolve, reject) => {
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    void exit.then(() => reject(new Error(`child exited before printing a line: ${out} ${err}`)));
  });
  return { line, exit, kill: (sig) => p.kill(sig), stderr: () => err };
}

describe('register() in a service process', () => {
  let srv: TestServer;
  let url: string;
  before(async () => {
    srv = await startServer(JSON.stringify({ chain: [{ api: { listen: '127.0.0.1:0' } }] }));
    url = (srv.app.plugins.find((l) => l.name === 'api')!.plugin as ApiPlugin).url();
  });
  after(() => srv.stop());
  const reg = () => srv.app.registryIfOpen!;

  it('deregisterOnExit: SIGTERM deregisters, then the process dies of the signal', async () => {
    const c = child(url, 'term', 'exit');
    assert.equal(await c.line, 'registered term');
    assert.equal(reg().get('term')?.Port, 9000);
    c.kill('SIGTERM');
    assert.deepEqual(await c.exit, { code: null, signal: 'SIGTERM' }, c.stderr());
    assert.equal(reg().get('term'), undefined, 'deregistered before exiting');
    assert.equal(c.stderr(), '');
  });

  it('deregisterOnExit: SIGINT (Ctrl-C) too', async () => {
    const c = child(url, 'int', 'exit');
    await c.line;
    c.kill('SIGINT');
    assert.deepEqual(await c.exit, { code: null, signal: 'SIGINT' });
    assert.equal(reg().get('int'), undefined);
  });

  it('the heartbeat timer keeps the process alive: it heartbeats until killed; SIGTERM then ends it as usual, without deregistering', async () => {
    // TTL 3: a heartbeat each second. The child has nothing to do but its timer.
    const c = child(url, 'plain', 'plain', 3);
    const beat = new Promise<void>((resolve) => {
      const off = reg().onChange((ev) => {
        if (ev.kind === 'refresh' && ev.service.UUID === 'plain') {
          off();
          resolve();
        }
      });
    });
    await c.line;
    const first = await Promise.race([beat.then(() => 'heartbeat'), c.exit.then(() => 'exited')]);
    assert.equal(first, 'heartbeat', 'the process stayed up to send a heartbeat');
    c.kill('SIGTERM');
    assert.deepEqual(await c.exit, { code: null, signal: 'SIGTERM' });
  });

  it('keepProcessAlive: false lets the process exit while registered (the record then lives out its TTL)', async () => {
    const c = child(url, 'unref', 'unref');
    assert.equal(await c.line, 'registered unref');
    assert.deepEqual(await c.exit, { code: 0, signal: null }, 'exited on its own');
    assert.equal(reg().get('unref')?.Port, 9000);
  });
});
