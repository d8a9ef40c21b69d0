/**
 * Helpers for the DNSSEC whole-server tests: real keys from dnssec-keygen,
 * delv (BIND's validating lookup tool) and unbound as a validating resolver,
 * each run as a child process on loopback and stopped by its PID.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { queryUdp } from '../src/testing/client.js';
import { freePort } from '../src/testing/ports.js';

const run = promisify(execFile);

export function installed(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

/** Runs dnssec-keygen in `dir`; returns the key's base name (`Kzone.+alg+tag`). */
export async function keygen(dir: string, zone: string, alg: string, ksk = false): Promise<string> {
  const args = ['-q', '-K', dir, '-a', alg, '-n', 'ZONE', ...(alg === 'RSASHA256' ? ['-b', '2048'] : []), ...(ksk ? ['-f', 'KSK'] : []), zone];
  const { stdout } = await run('dnssec-keygen', args);
  return stdout.trim();
}

/** The DNSKEY line of a .key file as `flags proto alg base64`. */
export async function dnskeyOf(dir: string, base: string): Promise<{ flags: string; proto: string; alg: string; key: string }> {
  const text = await readFile(join(dir, `${base}.key`), 'utf8');
  const line = text.split('\n').find((l) => !l.startsWith(';') && l.includes('DNSKEY'))!;
  const t = line.trim().split(/\s+/);
  const at = t.indexOf('DNSKEY');
  return { flags: t[at + 1]!, proto: t[at + 2]!, alg: t[at + 3]!, key: t.slice(at + 4).join('') };
}

/** A delv trust-anchor file for `zone` holding the key `base` (static-key). */
export async function delvAnchor(dir: string, zone: string, base: string): Promise<string> {
  const k = await dnskeyOf(dir, base);
  const file = join(dir, `anchor-${base}.conf`);
  await writeFile(file, `trust-anchors {\n  "${zone}." static-key ${k.flags} ${k.proto} ${k.alg} "${k.key}";\n};\n`);
  return file;
}

/** delv's output for one lookup, validated from the anchor `anchor` for `zone`. */
export async function delv(port: number, anchor: string, zone: string, name: string, type: string, ...extra: string[]): Promise<string> {
  const { stdout, stderr } = await run('delv', ['@127.0.0.1', '-p', String(port), '-a', anchor, `+root=${zone}`, '+nortrace', ...extra, name, type]).catch((e: { stdout: string; stderr: string }) => e);
  return `${stdout}${stderr}`;
}

export interface Unbound {
  port: number;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/**
 * unbound in the foreground with its own config in `dir`, validating `zone`
 * from the DS `ds` (presentation line) and asking SkyDNS on `skydnsPort` for it.
 */
export async function startUnbound(dir: string, zone: string, ds: string, skydnsPort: number): Promise<Unbound> {
  const port = await freePort();
  const conf = join(dir, `unbound-${port}.conf`);
  await writeFile(conf, [
    'server:',
    '  interface: 127.0.0.1',
    `  port: ${port}`,
    '  do-ip6: no',
    '  do-daemonize: no',
    '  use-syslog: no',
    '  logfile: ""',
    '  chroot: ""',
    '  username: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: no',
    '  module-config: "validator iterator"',
    `  trust-anchor: "${ds}"`,
    '  val-log-level: 2',
    '  verbosity: 1',
    '  num-threads: 1',
    'remote-control:',
    '  control-enable: no',
    'stub-zone:',
    `  name: "${zone}"`,
    `  stub-addr: 127.0.0.1@${skydnsPort}`,
    '',
  ].join('\n'));
  const proc = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const u: Unbound = {
    port,
    proc,
    log: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
  // Ready once it answers anything (a deadline, not a sleep).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`unbound exited: ${out}`);
    const a = await queryUdp('127.0.0.1', port, 'localhost', 'A', { timeoutMs: 300 }).catch(() => null);
    if (a) return u;
    if (Date.now() > deadline) {
      await u.stop();
      throw new Error(`unbound did not answer: ${out}`);
    }
  }
}
