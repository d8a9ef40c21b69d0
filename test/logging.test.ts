/**
 * Structured logs as an operator sees them from `skydns serve`: diagnostics
 * are pino JSON lines (level, time, msg, and the plugin's name for a
 * plugin's own lines), filtered by the Skyfile's `log.level`; per-query lines
 * come only from the `log` plugin, in its own format, whatever the level.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { queryUdp } from '../src/testing/client.js';
import { freePort } from '../src/testing/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/skydns');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skydns-logging-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Serves the Skyfile, sends one query once the server answers (bounded retries), then SIGTERM; returns stdout lines. */
async function serveAndQuery(level: string): Promise<string[]> {
  const port = await freePort();
  const f = join(dir, `${level}.json5`);
  await writeFile(f, `{
    dns: { listen: ["127.0.0.1:${port}"] },
    log: { level: "${level}" },
    chain: [{ metrics: { listen: "127.0.0.1:0" } }, { log: { format: "QUERY {name} {type} {rcode}" } }],
  }`);
  const child = spawn(process.execPath, [bin, 'serve', '-c', f], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    let answered = false;
    for (let i = 0; i < 50 && !answered && child.exitCode === null; i++) {
      answered = await queryUdp('127.0.0.1', port, 'Example.ORG', 'A', { timeoutMs: 200 }).then(() => true, () => false);
    }
    assert.ok(answered, `the server never answered: ${out}`);
    for (let i = 0; i < 50 && !out.includes('QUERY Example.ORG.'); i++) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  return out.split('\n').filter((l) => l !== '');
}

function jsonLines(lines: string[]): Record<string, unknown>[] {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('level info: JSON diagnostics with level, time and the plugin name; query lines from the log plugin only', async () => {
  const lines = await serveAndQuery('info');
  const json = jsonLines(lines);
  assert.ok(json.length > 0, lines.join('\n'));
  for (const j of json) {
    assert.equal(typeof j.level, 'number');
    assert.equal(typeof j.time, 'number');
    assert.equal(typeof j.msg, 'string');
  }
  const metricsLine = json.find((j) => j.plugin === 'metrics');
  assert.ok(metricsLine, `a metrics plugin line carries plugin: "metrics": ${lines.join('\n')}`);
  assert.equal(metricsLine.level, 30);
  assert.deepEqual(lines.filter((l) => l.startsWith('QUERY')), ['QUERY Example.ORG. A REFUSED']);
  for (const l of lines) assert.ok(l.startsWith('{') || l.startsWith('QUERY'), `every line is a JSON diagnostic or a query line: ${l}`);
  assert.ok(!json.some((j) => String(j.msg).includes('Example.ORG')), 'queries are not logged as diagnostics');
});

test('level warn: no info diagnostics, query lines unchanged', async () => {
  const lines = await serveAndQuery('warn');
  const json = jsonLines(lines);
  assert.deepEqual(json.filter((j) => (j.level as number) < 40), [], lines.join('\n'));
  assert.deepEqual(lines.filter((l) => l.startsWith('QUERY')), ['QUERY Example.ORG. A REFUSED']);
});
