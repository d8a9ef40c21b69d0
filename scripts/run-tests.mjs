#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's test runner.
// `npm test` type-checks and compiles first. Prints the runner's own summary,
// then one plain line "tests: N passed, N failed, N skipped".
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');

function find(dir, out = []) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = find(dist)
  .map((f) => relative(root, f))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/ (did the build run?)');
  process.exit(1);
}

// Binaries some suites need. Outside CI a missing one makes those suites skip, loudly; in CI (CI=true) they must be there.
const needs = {
  dig: 'DNS client tests with dig (apt-get install dnsutils)',
  etcd: 'etcd cluster tests (apt-get install etcd-server)',
  'dnssec-keygen': 'DNSSEC tests: keys (apt-get install bind9-utils)',
  delv: 'DNSSEC tests: validation by BIND (apt-get install bind9-dnsutils)',
  unbound: 'DNSSEC tests: unbound as a validating resolver (apt-get install unbound)',
  // The catalog page in a real browser (test/catalog-browser.test.ts), driven by playwright-core.
  chromium: 'catalog page browser test (apt-get install chromium)',
};
const missing = Object.entries(needs).filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
if (missing.length) {
  const bar = '!'.repeat(78);
  console.log(`${bar}\n!! MISSING BINARIES: the tests that need them will be SKIPPED (outside CI only):`);
  for (const [bin, what] of missing) console.log(`!!   ${bin}: ${what}`);
  if (process.env.CI === 'true') console.log('!! CI=true: those tests will FAIL instead of skipping.');
  console.log(bar);
}

const tap = join(tmpdir(), `skydns-tests-${process.pid}.tap`);
const args = ['--test', '--test-timeout=180000', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => {
  let summary = '';
  try {
    const text = readFileSync(tap, 'utf8');
    const n = (k) => Number((new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text) ?? [])[1] ?? 0);
    summary = `tests: ${n('pass')} passed, ${n('fail') + n('cancelled')} failed, ${n('skipped')} skipped`;
    rmSync(tap, { force: true });
  } catch {
    summary = 'tests: summary unavailable';
  }
  console.log(summary);
  process.exit(code ?? (signal ? 1 : 0));
});
