/**
 * What the kernel says about a server process: CPU time (utime + stime of the
 * whole process, every thread included) and resident memory, from /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // getconf missing: Linux's USER_HZ is 100 everywhere we run
}

/**
 * `pid` and its descendants (a SkyDNS with `workers` is a primary and its
 * cluster workers), from /proc/<pid>/task/<tid>/children.
 */
export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue; // gone
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
      } catch {
        // task gone meanwhile
      }
    }
  }
  return out;
}

/**
 * CPU time used so far by `pid` and its child processes (summed: the primary
 * and every worker of a `workers` group), in microseconds (resolution: one
 * clock tick, usually 10 ms). A server without children is just itself.
 */
export function cpuMicros(pid) {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      sum += ownCpuMicros(p);
    } catch {
      // exited between the listing and the read
    }
  }
  return sum;
}

function ownCpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1e6) / clkTck;
}

/**
 * UDP datagrams received by this machine so far (`Udp: InDatagrams` of
 * /proc/net/snmp, every socket of the network namespace): over a run where
 * only the bench talks UDP, datagrams per query show how many went upstream.
 */
export function udpDatagramsIn() {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const keys = lines[0].split(' ');
  return Number(lines[1].split(' ')[keys.indexOf('InDatagrams')]);
}

/** Resident set size now and its peak (VmHWM), in MiB, summed over `pid` and its child processes. */
export function memory(pid) {
  let rssMiB = 0;
  let peakMiB = 0;
  for (const p of processTree(pid)) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    rssMiB += kib('VmRSS') / 1024;
    peakMiB += kib('VmHWM') / 1024;
  }
  return { rssMiB, peakMiB };
}

/** The 1-, 5- and 15-minute load averages, as the kernel prints them. */
export function loadavg() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/**
 * Pins every thread of `pid` and of its child processes to `cpus` (`taskset -a -p -c`).
 * On a 2-CPU machine the suite gives each single-process server one CPU and dnsperf the
 * other: unpinned, where the kernel happens to place the server, its helper threads (GC,
 * libuv) and the loopback work moved the floor row between 58k and 79k QPS run to run.
 */
export function pin(pid, cpus) {
  for (const p of processTree(pid)) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' });
}
