/**
 * Network namespaces for whole-system tests: create them (root needed), run
 * commands and long-lived children inside (`ip netns exec`, whose PID is the
 * command's own), and remove them again. Traffic stays inside the namespaces
 * a test creates: they are linked only to each other by veth pairs.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Why a namespace cannot be made here (or `nft` is missing when `needNft`), or null when it can. */
export function cannotCreateNamespaces(needNft = false): string | null {
  if (spawnSync('sh', ['-c', 'command -v ip']).status !== 0) return '`ip` (iproute2) is not installed';
  if (needNft && spawnSync('sh', ['-c', 'command -v nft']).status !== 0) return '`nft` (nftables) is not installed';
  const probe = `skydns-probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 10_000 });
  if (add.status !== 0) return `\`ip netns add\` failed (${(add.stderr || add.error?.message || '').trim() || `exit ${add.status}`}); root / CAP_SYS_ADMIN is needed`;
  spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  return null;
}

/** Runs a command to completion (bounded); throws with its output when it fails. */
export function sh(cmd: string, args: string[], timeoutMs = 10_000): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.error?.message || ''}`);
}

/** Runs a command inside namespace `ns` without blocking the event loop; resolves with its stdout (and exit code). */
export function inNs(ns: string, cmd: string, args: string[], timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-lived child inside a namespace, its output kept for failure messages. */
export interface NsChild {
  name: string;
  proc: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

export function startInNs(ns: string, name: string, args: string[], cwd: string): NsChild {
  const proc = spawn('ip', ['netns', 'exec', ns, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { name, proc, output: () => out, exited };
}

/** SIGTERM, then SIGKILL after 5 s; by PID, only our own children. */
export async function stopChild(c: NsChild | undefined): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
  await c.exited;
  clearTimeout(t);
}
