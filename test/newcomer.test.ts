/**
 * docs/plugins.md's walk-through, followed as a newcomer would: its code
 * blocks written to a folder outside the repository that depends on this
 * checkout (a symlink, as `npm install /path/to/skydns` makes), compiled with
 * tsc, the plugin's own tests run, then loaded by path in the page's Skyfile,
 * checked, served, and queried with dig after a registration over the API.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/testing/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let files: Map<string, string>;

/** The walk-through's fenced blocks that start with `// <file name>`. */
async function docFiles(): Promise<Map<string, string>> {
  const md = await readFile(join(root, 'docs/plugins.md'), 'utf8');
  const section = md.slice(md.indexOf('## Walk-through'));
  const out = new Map<string, string>();
  for (const m of section.matchAll(/```\w+\n\/\/ (\S+)\n([\s\S]*?)```/g)) out.set(m[1]!, m[2]!);
  return out;
}

before(async () => {
  files = await docFiles();
  dir = join(await mkdtemp(join(tmpdir(), 'skydns-newcomer-')), 'my-plugin');
  await mkdir(join(dir, 'node_modules/@types'), { recursive: true });
  await symlink(root, join(dir, 'node_modules/skydns'));
  await symlink(join(root, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'my-plugin', version: '1.0.0', type: 'module' }));
  for (const [name, text] of files) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
});
after(() => rm(dirname(dir), { recursive: true, force: true }));

test('the page shows every file of the walk-through', () => {
  assert.deepEqual([...files.keys()].sort(), ['Skyfile', 'src/index.test.ts', 'src/index.ts', 'tsconfig.json']);
});

test('the plugin compiles against skydns and its own tests pass with skydns/testing', () => {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8', cwd: dir });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  // Without the parent runner's NODE_TEST_CONTEXT, the child reports as a newcomer's terminal would show it.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const t = spawnSync(process.execPath, ['--test', '--test-reporter=spec', 'dist/index.test.js'], { encoding: 'utf8', cwd: dir, env, timeout: 120_000 });
  assert.equal(t.status, 0, t.stdout + t.stderr);
  assert.match(t.stdout, /counts live services/);
  assert.match(t.stdout, /a whole server loads it by path/);
});

test('the Skyfile loads it by path: check, serve, register, dig', async () => {
  const dnsPort = await freePort();
  const apiPort = await freePort();
  const skyfile = files.get('Skyfile')!.replace('127.0.0.1:2053', `127.0.0.1:${dnsPort}`).replace('127.0.0.1:2080', `127.0.0.1:${apiPort}`);
  assert.notEqual(skyfile, files.get('Skyfile'));
  await writeFile(join(dir, 'Skyfile'), skyfile);
  const bin = join(dir, 'node_modules/.bin/skydns');
  await mkdir(dirname(bin), { recursive: true });
  await symlink(join(root, 'bin/skydns'), bin);
  const check = spawnSync(process.execPath, [bin, 'check', 'Skyfile'], { encoding: 'utf8', cwd: dir });
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /\d\. \.\/dist\/index\.js \{"zone":"skydns\.local"\}/);
  const child = spawn(process.execPath, [bin, 'serve', 'Skyfile'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    while (!out.includes('serving DNS')) {
      if (child.exitCode !== null) assert.fail(`server exited early: ${out}`);
      await new Promise((r) => child.stdout.once('data', r));
    }
    const put = await fetch(`http://127.0.0.1:${apiPort}/skydns/services/a1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Name: 'web', Version: '1.0', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 80, TTL: 60 }),
    });
    assert.equal(put.status, 201, await put.text());
    const dig = (...args: string[]) => spawnSync('dig', ['@127.0.0.1', '-p', String(dnsPort), '+short', '+tries=1', '+time=2', ...args], { encoding: 'utf8' }).stdout.trim();
    assert.equal(dig('TXT', 'count.skydns.local'), '"1"');
    assert.equal(dig('SRV', 'web.production.skydns.local'), '10 100 80 a1.skydns.local.');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
