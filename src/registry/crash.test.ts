/**
 * SIGKILL a process in the middle of a stream of registrations, then check
 * that every registration it acknowledged is there after a restart, and that
 * the registry always loads. Several rounds share one directory, so each round
 * also restarts on top of the previous crash (torn tails, interrupted snapshots).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { EmbeddedRegistry } from './embedded.js';

const child = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'skydns-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child until it has acknowledged `killAfter` puts, then SIGKILLs it; returns the acknowledged UUIDs. */
function runAndKill(prefix: string, killAfter: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let partial = '';
    let stderr = '';
    let killed = false;
    p.stderr.on('data', (d) => (stderr += d));
    p.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!; // a line cut by the kill was not fully reported: ignore it
      for (const l of lines) if (l !== 'ready') acked.push(l);
      if (!killed && acked.length >= killAfter) {
        killed = true;
        p.kill('SIGKILL');
      }
    });
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
    });
  });
}

it('loses no acknowledged registration when SIGKILLed mid-stream (several rounds)', async () => {
  const all: string[] = [];
  for (let round = 0; round < 4; round++) {
    const acked = await runAndKill(`r${round}`, 300 + Math.floor(Math.random() * 300));
    assert.ok(acked.length >= 300);
    all.push(...acked);
    const reg = new EmbeddedRegistry({ path: dir, clock: new ManualClock(Date.now()), logger: silentLogger });
    await reg.start();
    const missing = all.filter((u) => !reg.get(u));
    assert.deepEqual(missing, [], `round ${round}: ${missing.length} acknowledged registrations lost`);
    await reg.close();
  }
});
