/**
 * The servers under test, each our own child process in the foreground on 127.0.0.1 with
 * an explicit port and a config written into the bench's temp dir: SkyDNS (`bin/skydns
 * serve`), bind9 (`named -g -n 1`) and unbound (`unbound -d`). Nothing system-wide is
 * read or touched (/etc/bind, system services); every child is stopped by its PID.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitForAnswer } from './dnswire.mjs';
import { ZONE } from './data.mjs';

export const SKYDNS_BIN = fileURLToPath(new URL('../../bin/skydns', import.meta.url));
const children = new Set();

function launch(name, cmd, args, dir) {
  const log = createWriteStream(join(dir, `${name}.log`));
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(log);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return { child, log };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. Only our own children. */
export async function stop(server, graceMs = 10000) {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid, 'SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Stops every server this process started (on the way out, also after an error). */
export async function stopAll() {
  await Promise.all([...children].map((child) => stop({ child })));
}
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null) process.kill(c.pid, 'SIGKILL');
});

function failOnEarlyExit(server, name, dir) {
  return new Promise((_, reject) =>
    server.child.once('exit', (code, sig) => reject(new Error(`${name} exited early (${code ?? sig}); see ${join(dir, name + '.log')}`))),
  );
}

/**
 * Starts `bin/skydns serve` with `chain`, its embedded registry in `<dir>/<name>-data`.
 * Resolves once it logs that it serves DNS. `nodeArgs` go to node (e.g. --cpu-prof); `bin`
 * runs another tree's build.
 */
export async function startSkydns({ name, dir, port, chain, nodeArgs = [], dataDir, maxUdpSize, workers, bin = SKYDNS_BIN }) {
  const skyfile = join(dir, `${name}.Skyfile`);
  await writeFile(
    skyfile,
    JSON.stringify(
      {
        dns: { listen: [`127.0.0.1:${port}`], ...(maxUdpSize ? { maxUdpSize } : {}) },
        registry: { backend: 'embedded', path: dataDir ?? join(dir, `${name}-data`) },
        log: { level: 'info' },
        reload: { watch: false },
        ...(workers ? { workers } : {}),
        chain,
      },
      null,
      2,
    ),
  );
  const server = { name, port, ...launch(name, process.execPath, [...nodeArgs, bin, 'serve', '-c', skyfile], dir) };
  server.child.stdout.pipe(server.log);
  const ready = new Promise((resolve) => {
    createInterface({ input: server.child.stdout }).on('line', (line) => {
      if (line.includes('SkyDNS serving DNS on')) resolve();
    });
  });
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`${name} not serving after 120 s`)), 120000).unref());
  await Promise.race([ready, failOnEarlyExit(server, name, dir), timeout]);
  server.pid = server.child.pid;
  return server;
}

/** Checks a Skyfile chain with `skydns check`: resolves { ok, message } (e.g. an unknown plugin). */
export async function checkChain(dir, chain) {
  const file = join(dir, `check-${Math.random().toString(36).slice(2)}.Skyfile`);
  await writeFile(file, JSON.stringify({ dns: { listen: ['127.0.0.1:1'] }, registry: { path: join(dir, 'check-data') }, chain }));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SKYDNS_BIN, 'check', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, message: out.trim().split('\n')[0] });
    });
  });
}

/** bind9: `named -g -n 1` (one worker thread), authoritative for the zone, no recursion, no control channel. */
export async function startNamed({ dir, port, zoneFile, threads = 1 }) {
  const d = join(dir, 'named');
  await mkdir(d, { recursive: true });
  const conf = join(d, 'named.conf');
  await writeFile(
    conf,
    `options {
  directory "${d}";
  pid-file "${d}/named.pid";
  session-keyfile "${d}/session.key";
  managed-keys-directory "${d}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  allow-query { 127.0.0.1; };
  dnssec-validation no;
  notify no;
  querylog no;
  // Answers like SkyDNS's: the SRV targets' addresses in the additional section, no NS in authority.
  minimal-responses no-auth;
};
controls { };
logging { category default { default_stderr; }; };
zone "${ZONE}" { type primary; file "${zoneFile}"; };
`,
  );
  const server = { name: 'named', port, ...launch('named', '/usr/sbin/named', ['-g', '-n', String(threads), '-c', conf], dir) };
  server.child.stdout.pipe(server.log);
  await Promise.race([waitForAnswer(port, ZONE, 'SOA', { timeoutMs: 60000 }), failOnEarlyExit(server, 'named', dir)]);
  server.pid = server.child.pid;
  return server;
}

/** unbound, one thread, forwarding the zone to `upstreamPort` (bind9), caching. */
export async function startUnbound({ dir, port, upstreamPort }) {
  const d = join(dir, 'unbound');
  await mkdir(d, { recursive: true });
  const conf = join(d, 'unbound.conf');
  await writeFile(
    conf,
    `server:
  interface: 127.0.0.1
  port: ${port}
  do-ip6: no
  num-threads: 1
  username: ""
  chroot: ""
  directory: "${d}"
  pidfile: "${d}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  domain-insecure: "${ZONE}"
  # like SkyDNS and bind9: the SRV targets' addresses in the additional section
  minimal-responses: no
  msg-cache-size: 64m
  rrset-cache-size: 128m
  prefetch: no
forward-zone:
  name: "${ZONE}"
  forward-addr: 127.0.0.1@${upstreamPort}
remote-control:
  control-enable: no
`,
  );
  const server = { name: 'unbound', port, ...launch('unbound', '/usr/sbin/unbound', ['-d', '-c', conf], dir) };
  server.child.stdout.pipe(server.log);
  await Promise.race([waitForAnswer(port, ZONE, 'SOA', { timeoutMs: 60000, rd: true }), failOnEarlyExit(server, 'unbound', dir)]);
  server.pid = server.child.pid;
  return server;
}

/** The floor: bench/experiments/bare-udp.mjs, answering every query with a copy of `replyFrom`'s SRV answer. */
export async function startBare({ dir, port, replyFrom }) {
  const script = fileURLToPath(new URL('../experiments/bare-udp.mjs', import.meta.url));
  const server = { name: 'bare', port, ...launch('bare', process.execPath, [script, '--port', String(port), '--reply-from', String(replyFrom)], dir) };
  server.child.stdout.pipe(server.log);
  const ready = new Promise((resolve) => createInterface({ input: server.child.stdout }).once('line', resolve));
  await Promise.race([ready, failOnEarlyExit(server, 'bare', dir)]);
  server.pid = server.child.pid;
  return server;
}
