/**
 * The servers under test, each our own child process in the foreground on 127.0.0.1 with
 * an explicit port and a config written into the bench's temp dir: SkyDNS (`bin/skydns
 * serve`), bind9 (`named -g -n 1`), unbound (`unbound -d`) and dnsmasq (`dnsmasq -k`,
 * flags only). Nothing system-wide is read or touched (/etc/bind, /etc/dnsmasq.conf,
 * system services); every child is stopped by its PID.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitForAnswer } from './dnswire.mjs';
import { ZONE } from './data.mjs';

export const SKYDNS_BIN = fileURLToPath(new URL('../../bin/skydns', import.meta.url));
const children = new Set();

function launch(name, cmd, args, dir, env) {
  const log = createWriteStream(join(dir, `${name}.log`));
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
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
 * runs another tree's build; `env` is added to the environment (e.g. SKYDNS_UDP).
 * `server.udp` is the UDP path the start-up line names ("native", "dgram"), or null when
 * the build does not say (one from before the native socket: dgram).
 */
export async function startSkydns({ name, dir, port, chain, nodeArgs = [], dataDir, maxUdpSize, workers, bin = SKYDNS_BIN, env }) {
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
  const server = { name, port, ...launch(name, process.execPath, [...nodeArgs, bin, 'serve', '-c', skyfile], dir, env) };
  server.child.stdout.pipe(server.log);
  const lines = [];
  const ready = new Promise((resolve) => {
    createInterface({ input: server.child.stdout }).on('line', (line) => {
      if (lines.length < 50) lines.push(line);
      if (line.includes('SkyDNS serving DNS on')) resolve(line);
    });
  });
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`${name} not serving after 120 s`)), 120000).unref());
  let line;
  try {
    line = await Promise.race([ready, failOnEarlyExit(server, name, dir), timeout]);
  } catch (err) {
    // The reason is in the log (e.g. SKY_ERR_UDP_NATIVE_UNAVAILABLE): keep its first error line.
    const why = lines.map(logMessage).find((m) => /SKY_ERR_|error/i.test(m));
    if (why) err.message += `: ${why}`;
    throw err;
  }
  server.udp = udpPathOf(line);
  server.pid = server.child.pid;
  return server;
}

/** The `msg` of a JSON log line (or the line). */
function logMessage(line) {
  try {
    const j = JSON.parse(line);
    return [j.code, j.msg ?? j.err?.message].filter(Boolean).join(' ');
  } catch {
    return line;
  }
}

/** The UDP path named by the "serving DNS" line: its `udp` field, else its text; null when it names none. */
export function udpPathOf(line) {
  try {
    const j = JSON.parse(line);
    if (j.udp === 'native' || j.udp === 'dgram') return j.udp;
  } catch {
    // not JSON: read the text
  }
  if (/recvmmsg|native batched/i.test(line)) return 'native';
  if (/node:dgram/i.test(line)) return 'dgram';
  return null;
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

/**
 * dnsmasq forwarding everything to `upstreamPort` (bind9), from flags only: `-k` (foreground,
 * no fork, stopped by its PID), `--conf-file=/dev/null` (no /etc/dnsmasq.conf), no
 * resolv.conf, no /etc/hosts, no DHCP, listening on 127.0.0.1 only (`--bind-interfaces`),
 * `--cache-size=0` unless `cacheSize` says otherwise. Other settings are dnsmasq's
 * defaults (e.g. `--dns-forward-max=150` queries in flight).
 */
export async function startDnsmasq({ dir, port, upstreamPort, cacheSize = 0 }) {
  const d = join(dir, 'dnsmasq');
  await mkdir(d, { recursive: true });
  const args = [
    '-k',
    '--conf-file=/dev/null',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    `--server=127.0.0.1#${upstreamPort}`,
    `--cache-size=${cacheSize}`,
    `--pid-file=${join(d, 'dnsmasq.pid')}`,
    '--log-facility=-',
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
  ];
  const server = { name: 'dnsmasq', port, ...launch('dnsmasq', dnsmasqBin(), args, dir) };
  server.child.stdout.pipe(server.log);
  await Promise.race([waitForAnswer(port, ZONE, 'SOA', { timeoutMs: 60000, rd: true }), failOnEarlyExit(server, 'dnsmasq', dir)]);
  server.pid = server.child.pid;
  return server;
}

export function dnsmasqBin() {
  return existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq';
}

/**
 * `skydns serve -c DIR/Skyfile` as our child, for the benches that drive its api: resolves
 * with the child and the api's URL once it logs "api listening on".
 */
export function serveApi(dir) {
  const child = spawn(process.execPath, [SKYDNS_BIN, 'serve', '-c', join(dir, 'Skyfile')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const rec = JSON.parse(line);
        if (rec.msg?.startsWith('api listening on ')) resolve({ child, url: new URL(rec.address) });
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`skydns serve exited with ${code}`)));
  });
}
