/** The `skydns` command as a user runs it: a real process, real sockets. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { queryTcp, queryUdp } from '../src/testing/client.js';
import { freePort, occupyPort } from '../src/testing/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/skydns');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 60000 });

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skydns-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('--help and --version', () => {
  const h = run('--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /serve/);
  assert.match(h.stdout, /check/);
  const v = run('--version');
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^skydns \d+\.\d+\.\d+/);
  const s = run('serve', '--help');
  assert.equal(s.status, 0);
  assert.match(s.stdout, /skydns serve \[-c FILE \| FILE\]/);
  assert.match(s.stdout, /default: \.\/Skyfile/);
  assert.notEqual(run('frobnicate').status, 0);
});

test('check validates Skyfile.example and prints the chain', () => {
  const r = run('check', '-c', 'Skyfile.example');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Skyfile.example: OK/);
  assert.match(r.stdout, /chain:\n\s+1\. metrics .*\n\s+2\. health .*\n\s+3\. log /);
  assert.match(r.stdout, /8\. forward /);
});

test('check takes the Skyfile as -c FILE, --config=FILE or FILE, and refuses any other argument', () => {
  assert.match(run('check', 'Skyfile.example').stdout, /^Skyfile.example: OK/);
  assert.match(run('check', '--config=Skyfile.example').stdout, /^Skyfile.example: OK/);
  const help = run('check', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /-c, --config FILE .*default: \.\/Skyfile/);
  for (const [args, why] of [
    [['-c'], /argument missing/],
    [['--file', 'Skyfile.example'], /unknown option --file: the Skyfile is given as -c FILE/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['Skyfile.example', 'Skyfile.cluster.example'], /one Skyfile expected, got 2/],
    [['-c', 'Skyfile.example', 'Skyfile.example'], /given twice/],
  ] as const) {
    for (const cmd of ['check', 'serve']) {
      const r = run(cmd, ...args);
      assert.equal(r.status, 2, `${cmd} ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /SKY_ERR_CLI_USAGE/);
      assert.match(r.stderr, why);
      assert.equal(r.stdout, '');
    }
  }
});

test('check rejects every address serve would reject before binding, in dns and in every plugin', async () => {
  const cases: [string, RegExp][] = [
    ['{ dns: { listen: ["127.0.0.1:99999"] }, chain: ["log"] }', /port 99999 .* over 65535 \(at dns\.listen\[0\], line 1/],
    ['{ dns: { listen: ["127.0.0.1"] }, chain: ["log"] }', /"127\.0\.0\.1" is not host:port \(.*at dns\.listen\[0\], line 1/],
    ['{ dns: { listen: ["web:53"] }, chain: ["log"] }', /not an IP address/],
    ['{ chain: [{ api: { listen: "127.0.0.1:80800" } }] }', /port 80800 .*at chain\[0\]\.api\.listen/],
    ['{\n  chain: [\n    { api: {\n      listen: "127.0.0.1:80800" } }] }', /port 80800 .*at chain\[0\]\.api\.listen, line 4, column 7\)/],
    ['{ chain: ["log", { health: { listen: "127.0.0.1:99999" } }] }', /at chain\[1\]\.health\.listen/],
    ['{ chain: [{ metrics: { listen: "127.0.0.1" } }] }', /at chain\[0\]\.metrics\.listen/],
    ['{ chain: [{ ratelimit: { exempt: ["10.0.0.0/33"] } }] }', /SKY_ERR_CONFIG_INVALID.*exempt\[0\]/],
    ['{ registry: { ttlMin: 100, ttlMax: 10 }, chain: ["log"] }', /registry\.ttlMin/],
  ];
  for (const [i, [text, why]] of cases.entries()) {
    const f = join(dir, `check-${i}.json5`);
    await writeFile(f, text);
    const r = run('check', f);
    assert.equal(r.status, 1, `${text}: ${r.stdout}`);
    assert.match(r.stderr, why, text);
    // serve refuses the same file with the same message, before binding anything.
    const s = run('serve', f);
    assert.equal(s.status, 1, text);
    assert.equal(s.stderr.split('\n').find((l) => l.includes('SKY_ERR')), r.stderr.trim(), `${text}: serve said ${s.stderr}`);
  }
});

test('check warns about an old option spelling naming the new key, and suggests the key meant by a typo', async () => {
  const old = join(dir, 'old-keys.json5');
  await writeFile(old, '{\n  chain: [\n    { cache: { max_ttl: 60 } },\n    "log",\n  ],\n}\n');
  const r = run('check', old);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, 'skydns check: warning: chain[0].cache.max_ttl (line 3) is the old spelling of maxTtl: it still works in this release; write maxTtl\n');
  assert.match(r.stdout, /1\. cache \{.*"maxTtl":60/);
  const typo = join(dir, 'typo.json5');
  await writeFile(typo, '{ chain: [{ cache: { maxTTL: 60 } }] }');
  const t = run('check', typo);
  assert.equal(t.status, 1);
  assert.match(t.stderr, /unknown key "maxTTL"; did you mean maxTtl\?/);
});

test('a bad Skyfile exits non-zero with one clear message: code, key path, line', async () => {
  const f = join(dir, 'bad.json5');
  await writeFile(f, '{\n  dns: { listen: ["127.0.0.1:1053"] },\n  chain: [\n    { log: { clas: ["all"] } },\n  ],\n}\n');
  const r = run('check', '-c', f);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /SKY_ERR_CONFIG_INVALID: .*chain\[0\]\.log\.clas.*line 4/);
  const s = run('serve', '-c', join(dir, 'missing.json5'));
  assert.equal(s.status, 1);
  assert.match(s.stderr, /SKY_ERR_CONFIG_READ/);
});

test('serve answers over UDP and TCP, and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const f = join(dir, 'serve.json5');
  await writeFile(f, `{ dns: { listen: ["127.0.0.1:${port}"] }, log: { level: "info" }, chain: ["log"] }`);
  const child = spawn(process.execPath, [bin, 'serve', '-c', f], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    while (!out.includes('serving DNS')) {
      if (child.exitCode !== null) assert.fail(`server exited early: ${out}`);
      await new Promise((r) => child.stdout.once('data', r));
    }
    assert.equal((await queryUdp('127.0.0.1', port, 'example.org', 'A')).rcode, 5);
    assert.equal((await queryTcp('127.0.0.1', port, 'example.org', 'A')).rcode, 5);
    while (!out.includes('"A IN example.org. tcp')) await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('npm start: SIGTERM to the process npm runs stops the server (the script execs node, no shell left between)', async () => {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  assert.match(pkg.scripts.start, /^exec node bin\/skydns serve -c Skyfile\.example$/);
  const port = await freePort();
  const f = join(dir, 'start.json5');
  await writeFile(f, `{ dns: { listen: ["127.0.0.1:${port}"] }, chain: ["log"] }`);
  // npm runs a script as `sh -c <script>` and forwards SIGTERM to that process.
  const child = spawn('sh', ['-c', pkg.scripts.start.replace('Skyfile.example', f)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (code, signal) => r([code, signal])));
  try {
    while (!out.includes('serving DNS')) {
      if (child.exitCode !== null) assert.fail(`server exited early: ${out}`);
      await new Promise((r) => child.stdout.once('data', r));
    }
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null], 'the server itself got the signal and shut down gracefully');
    assert.match(out, /"msg":"stopped"/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('log.format: JSON lines on a pipe by default, readable lines with "pretty" and on a terminal', async () => {
  const serveOnce = async (format: string | undefined, tty: boolean): Promise<string> => {
    const port = await freePort();
    const f = join(dir, `log-${format ?? 'default'}-${tty}.json5`);
    await writeFile(f, `{ dns: { listen: ["127.0.0.1:${port}"] }, ${format ? `log: { format: "${format}" },` : ''} chain: ["log"] }`);
    // script(1) gives the server a pseudo-terminal as stdout.
    const [cmd, args] = tty ? ['script', ['-qec', `${process.execPath} ${bin} serve ${f}`, '/dev/null']] : [process.execPath, [bin, 'serve', f]];
    const child = spawn(cmd, args as string[], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      while (!out.includes('serving DNS')) {
        if (child.exitCode !== null) assert.fail(`server exited early: ${out}`);
        await new Promise((r) => child.stdout.once('data', r));
      }
      return out.split(/\r?\n/).find((l) => l.includes('serving DNS'))!;
    } finally {
      if (tty) child.stdin.write('\x03'); // Ctrl-C on the terminal: SIGINT to the server
      else child.kill('SIGTERM');
      await exited;
    }
  };
  assert.match(await serveOnce(undefined, false), /^\{"level":30,"time":\d+,.*"msg":"SkyDNS serving DNS on/);
  assert.match(await serveOnce('pretty', false), /^\d\d:\d\d:\d\d\.\d{3} INFO  SkyDNS serving DNS on 127\.0\.0\.1:\d+ \(UDP and TCP; UDP on [^)]+\)+  listen=\["127/);
  assert.match(await serveOnce(undefined, true), /^\d\d:\d\d:\d\d\.\d{3} INFO  SkyDNS serving DNS/);
  assert.match(await serveOnce('json', true), /^\{"level":30/);
});

test('serve on a port in use says which address', async () => {
  const { port, close } = await occupyPort();
  try {
    const f = join(dir, 'inuse.json5');
    await writeFile(f, `{ dns: { listen: ["127.0.0.1:${port}"] }, chain: ["log"] }`);
    const r = spawnSync(process.execPath, [bin, 'serve', '-c', f], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`SKY_ERR_LISTEN: cannot listen on 127\\.0\\.0\\.1:${port} \\(TCP\\): address already in use`));
  } finally {
    await close();
  }
});
