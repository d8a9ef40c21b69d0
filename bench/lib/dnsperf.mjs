/**
 * Runs dnsperf against 127.0.0.1:port and reads its report; with a server PID, also the
 * server's CPU time over the run (from /proc) and its RSS at the end.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMicros, memory, loadavg, processTree, udpDatagramsIn } from './proc.mjs';
import { perfPrefix, readPerfCounts, straceStart, straceStop } from './syscalls.mjs';

/**
 * `cpus`: the CPU list dnsperf runs on (`taskset -c`), or anywhere (see `pin` in proc.mjs).
 * `prefix`: a command dnsperf runs under (e.g. `perf stat -p PID --`).
 */
function run(args, limitSeconds, cpus, prefix = []) {
  return new Promise((resolve, reject) => {
    const cmd = [...prefix, ...(cpus ? ['taskset', '-c', cpus] : []), 'dnsperf', ...args];
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    let err = '';
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => (err += d));
    // dnsperf stops itself after -l seconds plus the -t timeout; this is the backstop.
    const timer = setTimeout(() => child.kill('SIGKILL'), (limitSeconds + 15) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const text = Buffer.concat(out).toString();
      if (code !== 0) reject(new Error(`dnsperf ${args.join(' ')} exited ${code}: ${err.trim() || text.slice(-500)}`));
      else resolve(text);
    });
  });
}

const num = (text, re) => Number(re.exec(text)?.[1] ?? NaN);

function parse(text) {
  return {
    sent: num(text, /Queries sent:\s+(\d+)/),
    completed: num(text, /Queries completed:\s+(\d+)/),
    lost: num(text, /Queries lost:\s+(\d+)/),
    qps: num(text, /Queries per second:\s+([\d.]+)/),
    runSeconds: num(text, /Run time \(s\):\s+([\d.]+)/),
    avgMs: num(text, /Average Latency \(s\):\s+([\d.]+)/) * 1000,
    minMs: num(text, /Average Latency \(s\):.*\(min ([\d.]+)/) * 1000,
    maxMs: num(text, /Average Latency \(s\):.*max ([\d.]+)\)/) * 1000,
    responseBytes: num(text, /Average packet size:.*response (\d+)/),
    rcodes: /Response codes:\s+(.*)/.exec(text)?.[1] ?? '',
  };
}

/** Percentile of a sorted array (nearest rank). */
export const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

/**
 * One dnsperf run. `qps` set: open loop at that rate, with per-query latencies (-v) for
 * percentiles; otherwise closed loop (`clients` sockets, `outstanding` in flight).
 * `dnssec`: queries with the DO bit (dnsperf -D).
 * `syscalls` (with `pid`): how to count the server's syscalls over the run, as
 * probeSyscallCounting (lib/syscalls.mjs) found; results in `r.syscalls` and `r.syscallsPerQuery`.
 * `upstreamPid`: the server this one forwards to; per query answered, its CPU is
 * `r.upstreamCpuUsPerQuery` and the queries sent to it `r.upstreamQueriesPerQuery`, from the UDP
 * datagrams the machine received (each forwarded query adds an upstream query and its reply to the
 * client's query and reply; only the bench may talk UDP meanwhile).
 */
export async function dnsperf({ port, file, seconds, clients = 4, outstanding = 50, qps, pid, upstreamPid, maxRuns, timeout = 2, cpus, syscalls, dnssec = false }) {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-e', '-c', String(clients), '-q', String(outstanding), '-t', String(timeout)];
  if (dnssec) args.push('-D'); // DO bit: signed answers
  if (seconds) args.push('-l', String(seconds));
  if (maxRuns) args.push('-n', String(maxRuns));
  if (qps) args.push('-Q', String(qps), '-v');
  const load = loadavg();
  const cpu0 = pid ? cpuMicros(pid) : 0;
  const up0 = upstreamPid ? cpuMicros(upstreamPid) : 0;
  const udp0 = upstreamPid ? udpDatagramsIn() : 0;
  let r0 = null;
  const count = syscalls?.events && pid ? syscalls : null;
  const countFile = count ? join(tmpdir(), `skydns-bench-${count.method}-${process.pid}-${Date.now()}.txt`) : null;
  const prefix = count?.method === 'perf' ? perfPrefix(count.events, processTree(pid), countFile) : [];
  const strace = count?.method === 'strace' ? await straceStart(processTree(pid), countFile) : null;
  let text;
  try {
    text = await run(args, seconds ?? 60, cpus, prefix);
  } finally {
    if (strace) r0 = await straceStop(strace, count.events, countFile);
  }
  const cpu1 = pid ? cpuMicros(pid) : 0;
  const up1 = upstreamPid ? cpuMicros(upstreamPid) : 0;
  const r = parse(text);
  if (upstreamPid) {
    r.upstreamCpuUsPerQuery = (up1 - up0) / r.completed;
    r.upstreamQueriesPerQuery = ((udpDatagramsIn() - udp0) / r.completed - 2) / 2;
  }
  if (count) {
    r.syscalls = strace ? r0 : readPerfCounts(count.events, countFile);
    r.syscallsPerQuery = r.syscalls.total / r.completed;
    rmSync(countFile, { force: true });
  }
  r.load = load;
  r.args = args.join(' ');
  if (pid) {
    r.cpuUsPerQuery = (cpu1 - cpu0) / r.completed;
    r.cpuSeconds = (cpu1 - cpu0) / 1e6;
    Object.assign(r, memory(pid));
  }
  if (qps) {
    const lat = [];
    for (const m of text.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)) lat.push(Number(m[1]) * 1000);
    lat.sort((a, b) => a - b);
    r.p50Ms = pct(lat, 50);
    r.p90Ms = pct(lat, 90);
    r.p95Ms = pct(lat, 95);
    r.p99Ms = pct(lat, 99);
    r.p999Ms = pct(lat, 99.9);
  }
  return r;
}
