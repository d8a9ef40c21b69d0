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

function child(url: string, uuid: string, mode: 'exit' | 'unref' | 'plain'): Child {
  const p = spawn(process.execPath, [CHILD, url, uuid, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
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

  it('without it, SIGTERM ends the process as usual and the record stays until its TTL runs out', async () => {
    const c = child(url, 'plain', 'plain');
    await c.line;
    c.kill('SIGTERM');
    assert.deepEqual(await c.exit, { code: null, signal: 'SIGTERM' });
    assert.equal(reg().get('plain')?.Port, 9000, 'still registered: nobody deregistered it');
  });

  it('the heartbeat timer keeps the process alive; keepProcessAlive: false lets it exit while registered', async () => {
    // "plain" above stayed up until killed (it had printed and had nothing else to do).
    const c = child(url, 'unref', 'unref');
    assert.equal(await c.line, 'registered unref');
    assert.deepEqual(await c.exit, { code: 0, signal: null }, 'exited on its own');
    assert.equal(reg().get('unref')?.Port, 9000);
  });
});
