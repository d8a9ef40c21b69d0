/**
 * Real etcd members on loopback for tests and benchmarks: one node or a
 * cluster, each member with its own temp data dir and free 127.0.0.1 ports
 * for client and peer traffic. Members can be killed (SIGKILL), stopped and
 * restarted by PID; health is polled over the client URL with a deadline.
 * `stop()` kills every process it started and removes the data dirs; an
 * `exit` hook does the same if a test run dies first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** The etcd binary to run: $ETCD_BIN, else `etcd` from PATH; undefined when there is none. */
export function etcdBinary(): string | undefined {
  const want = process.env.ETCD_BIN ?? 'etcd';
  const r = spawnSync('sh', ['-c', `command -v "${want.replace(/"/g, '')}"`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * For `describe(name, { skip })`: false when etcd is installed or when CI=true
 * (then the suite runs and fails loudly instead of skipping); otherwise a skip
 * reason, after a banner on stderr naming the skipped tests.
 */
export function etcdSkip(suite: string, tests: string[]): string | false {
  if (etcdBinary() || process.env.CI === 'true') return false;
  const bar = '!'.repeat(78);
  process.stderr.write(`${bar}\n!! etcd NOT FOUND: SKIPPING "${suite}" (install etcd-server to run them):\n`);
  for (const t of tests) process.stderr.write(`!!   skipped: ${t}\n`);
  process.stderr.write(`${bar}\n`);
  return 'etcd binary not found (apt-get install etcd-server)';
}

/** A free TCP port on 127.0.0.1 (free when asked; etcd binds it moments later). */
export { freePort };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `cond` every 20 ms until it holds; fails after `ms`. The bound is a
 * generous give-up point for a loaded machine, not a claim about timing.
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess | undefined;
}

/** TLS for the client URLs: the members' certificate and key, the CA clients must trust. */
export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
  /** Require client certificates signed by `ca` (then `clientCert`/`clientKey` are used for probes). */
  clientCertAuth?: { clientCert: string; clientKey: string };
}

export interface EtcdStartOptions {
  /** Give up waiting for health after this long (default 30 s). */
  timeoutMs?: number;
  /** Pin the client ports (e.g. a port a test pointed a registry at before etcd existed). */
  clientPorts?: number[];
  /** Serve the client URLs over TLS (peers stay on plain HTTP on loopback). */
  tls?: EtcdTls;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export class EtcdCluster {
  private constructor(
    readonly members: EtcdMember[],
    private readonly root: string,
    private readonly bin: string,
    private readonly token: string,
    private readonly tls: EtcdTls | undefined,
  ) {}

  /** Starts `size` members and waits until every one is healthy. */
  static async start(size = 1, opts: EtcdStartOptions = {}): Promise<EtcdCluster> {
    const { timeoutMs = 30_000, clientPorts, tls } = opts;
    const bin = etcdBinary();
    if (!bin) throw new Error('etcd binary not found: install etcd-server (apt-get install etcd-server) or set ETCD_BIN');
    for (let attempt = 0; ; attempt++) {
      const root = mkdtempSync(join(tmpdir(), 'skydns-etcd-'));
      const members: EtcdMember[] = [];
      for (let i = 0; i < size; i++) {
        members.push({ name: `m${i}`, clientPort: clientPorts?.[i] ?? (await freePort()), peerPort: await freePort(), dataDir: join(root, `m${i}`), proc: undefined });
      }
      const c = new EtcdCluster(members, root, bin, `skydns-${process.pid}-${Date.now()}-${attempt}`, tls);
      for (let i = 0; i < size; i++) c.spawn(i);
      try {
        await c.waitHealthy(timeoutMs);
        return c;
      } catch (err) {
        const died = members.some((m) => m.proc === undefined);
        await c.stop();
        // A port taken between freePort() and etcd's bind makes a member exit: try new ports.
        if (!died || attempt >= 2) throw err;
      }
    }
  }

  /** Client endpoints of every member, alive or not: host:port, or https://host:port with TLS. */
  get endpoints(): string[] {
    return this.members.map((_, i) => (this.tls ? `https://${this.endpoint(i)}` : this.endpoint(i)));
  }

  /** host:port of member i's client URL. */
  endpoint(i: number): string {
    return `127.0.0.1:${this.members[i]!.clientPort}`;
  }

  pid(i: number): number | undefined {
    return this.members[i]!.proc?.pid;
  }

  /** The member's own log (stderr), for failure messages. */
  log(i: number): string {
    try {
      return readFileSync(join(this.root, `m${i}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  private spawn(i: number): void {
    const m = this.members[i]!;
    if (m.proc) throw new Error(`etcd member ${m.name} is already running (pid ${m.proc.pid})`);
    const peers = this.members.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(',');
    const scheme = this.tls ? 'https' : 'http';
    const tlsArgs = this.tls ? ['--cert-file', this.tls.cert, '--key-file', this.tls.key, '--trusted-ca-file', this.tls.ca, ...(this.tls.clientCertAuth ? ['--client-cert-auth'] : [])] : [];
    const args = [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', `${scheme}://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `${scheme}://127.0.0.1:${m.clientPort}`,
      ...tlsArgs,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', peers,
      '--initial-cluster-token', this.token,
      '--initial-cluster-state', 'new', // ignored once the data dir exists (restart)
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
    const fd = openSync(join(this.root, `${m.name}.log`), 'a');
    const proc = spawn(this.bin, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(proc);
    m.proc = proc;
    proc.once('exit', () => {
      live.delete(proc);
      if (m.proc === proc) m.proc = undefined;
    });
  }

  /** Sends `signal` to member i by PID and waits for it to exit. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.members[i]!.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    process.kill(proc.pid!, signal);
    await exited;
  }

  /** Starts member i again on the same data dir and ports; waits until it serves. */
  async restart(i: number, timeoutMs = 30_000): Promise<void> {
    this.spawn(i);
    await this.waitMember(i, timeoutMs, true);
  }

  /** GET /health of member i: true when it is up and part of a cluster with a leader. */
  async healthy(i: number): Promise<boolean> {
    try {
      const body = JSON.parse(await this.http(i, 'GET', '/health')) as { health?: string };
      return body.health === 'true';
    } catch {
      return false;
    }
  }

  /** Waits until member i answers /health (with `needLeader`, until it reports health true). */
  async waitMember(i: number, timeoutMs: number, needLeader: boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.members[i]!.proc) throw new Error(`etcd member m${i} exited:\n${this.log(i).slice(-2000)}`);
      if (needLeader ? await this.healthy(i) : await this.answers(i)) return;
      await sleep(100);
    }
    throw new Error(`etcd member m${i} not healthy within ${timeoutMs} ms:\n${this.log(i).slice(-2000)}`);
  }

  /** Waits until every running member is healthy. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    for (let i = 0; i < this.members.length; i++) if (this.members[i]!.proc) await this.waitMember(i, timeoutMs, true);
  }

  private async answers(i: number): Promise<boolean> {
    try {
      await this.http(i, 'GET', '/version');
      return true;
    } catch {
      return false;
    }
  }

  /** Index of the member that is the Raft leader now (asked of the running members), or -1. */
  async leader(): Promise<number> {
    const ids: string[] = [];
    let leaderId: string | undefined;
    for (let i = 0; i < this.members.length; i++) {
      ids.push('');
      if (!this.members[i]!.proc) continue;
      try {
        const st = JSON.parse(await this.http(i, 'POST', '/v3/maintenance/status', '{}')) as { header?: { member_id?: string }; leader?: string };
        ids[i] = st.header?.member_id ?? '';
        if (st.leader && st.leader !== '0') leaderId = st.leader;
      } catch {
        // not answering: not the leader we can report
      }
    }
    return leaderId === undefined ? -1 : ids.indexOf(leaderId);
  }

  /** Waits (up to `timeoutMs`) for a leader among the running members. */
  async waitLeader(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const l = await this.leader();
      if (l >= 0) return l;
      await sleep(100);
    }
    throw new Error(`no etcd leader within ${timeoutMs} ms`);
  }

  /** One request to member i's client URL (1 s timeout); the body when the status is 2xx. */
  private http(i: number, method: string, path: string, body?: string): Promise<string> {
    const t = this.tls;
    const opts = { host: '127.0.0.1', port: this.members[i]!.clientPort, method, path, timeout: 1000 };
    return new Promise((resolve, reject) => {
      const done = (res: import('node:http').IncomingMessage): void => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve(data) : reject(new Error(`${path}: ${res.statusCode}`))));
      };
      const req = t
        ? httpsRequest({ ...opts, ca: readFileSync(t.ca), ...(t.clientCertAuth ? { cert: readFileSync(t.clientCertAuth.clientCert), key: readFileSync(t.clientCertAuth.clientKey) } : {}) }, done)
        : httpRequest(opts, done);
      req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 1 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Kills every member and removes the data dirs. */
  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.kill(i, 'SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
  }
}
