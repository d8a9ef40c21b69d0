/**
 * System calls a server makes per query: `perf stat` counting the kernel's syscall
 * tracepoints in the server's processes (every thread; `-p` takes the PIDs of a workers
 * group too) for exactly as long as one dnsperf run lasts (`perf stat -p PIDS -- dnsperf`).
 * Tracepoint counting is done in the kernel: no ptrace stop per call (as `strace -c`
 * would add), so the server runs at its usual speed and batches as it usually does.
 * Needs perf (Debian: linux-perf) and tracefs; `perf stat -e instructions true` failing
 * does not matter here (hardware counters are not used).
 *
 * Without perf, `strace -c -f -p PID` attached around the dnsperf run counts the same
 * calls, but stops the server at each one: it runs slower, so it batches differently
 * (more datagrams per wake-up at saturation); the table names the method used.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Column name → tracepoint. `total` is every syscall; the rest show where they go. */
export const SYSCALL_EVENTS = {
  total: 'raw_syscalls:sys_enter',
  recvmmsg: 'syscalls:sys_enter_recvmmsg',
  sendmmsg: 'syscalls:sys_enter_sendmmsg',
  recvmsg: 'syscalls:sys_enter_recvmsg',
  sendmsg: 'syscalls:sys_enter_sendmsg',
  recvfrom: 'syscalls:sys_enter_recvfrom',
  sendto: 'syscalls:sys_enter_sendto',
  epoll_wait: 'syscalls:sys_enter_epoll_wait',
  epoll_pwait: 'syscalls:sys_enter_epoll_pwait',
  poll: 'syscalls:sys_enter_poll',
  ppoll: 'syscalls:sys_enter_ppoll',
  // a socket per query shows here (dnsmasq's random ports; SkyDNS forward before its pool)
  socket: 'syscalls:sys_enter_socket',
  connect: 'syscalls:sys_enter_connect',
  close: 'syscalls:sys_enter_close',
  futex: 'syscalls:sys_enter_futex',
};

/**
 * How syscalls can be counted here: { method: 'perf', events: {name: tracepoint} } with
 * the SYSCALL_EVENTS perf can count, else { method: 'strace', events } when strace runs,
 * else { reason }.
 */
export function probeSyscallCounting() {
  const perf = probePerf();
  if (perf.events) return { method: 'perf', ...perf };
  try {
    execFileSync('strace', ['-c', '-o', '/dev/null', 'true'], { stdio: 'ignore', timeout: 20000 });
    return { method: 'strace', events: { ...SYSCALL_EVENTS } };
  } catch {
    return { reason: `${perf.reason}, and strace cannot run either` };
  }
}

function probePerf() {
  const tryEvents = (list) => {
    try {
      execFileSync('perf', ['stat', '-x', ';', '-e', list.join(','), 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20000 });
      return true;
    } catch {
      return false;
    }
  };
  if (tryEvents(Object.values(SYSCALL_EVENTS))) return { events: { ...SYSCALL_EVENTS } };
  const events = {};
  for (const [name, ev] of Object.entries(SYSCALL_EVENTS)) if (tryEvents([ev])) events[name] = ev;
  if (events.total) return { events };
  let reason = 'perf stat cannot count raw_syscalls:sys_enter here';
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
  } catch {
    reason = 'perf is not installed (bench/setup.sh installs linux-perf)';
  }
  return { reason };
}

/** The command prefix that makes `perf stat` count `events` in `pids` into `file` while the wrapped command runs. */
export function perfPrefix(events, pids, file) {
  return ['perf', 'stat', '-x', ';', '-o', file, '-e', Object.values(events).join(','), '-p', pids.join(','), '--'];
}

/** Reads perf's CSV output: { name: count } for `events` (NaN when perf said "<not counted>"). */
export function readPerfCounts(events, file) {
  const byEvent = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(';');
    if (f.length < 3) continue;
    byEvent.set(f[2], Number(f[0]));
  }
  const out = {};
  for (const [name, ev] of Object.entries(events)) out[name] = byEvent.has(ev) ? byEvent.get(ev) : NaN;
  return out;
}

/** Starts `strace -c -f` on `pids`, writing its summary to `file`; resolves once attached. */
export async function straceStart(pids, file) {
  const child = spawn('strace', ['-c', '-f', '-q', '-o', file, ...pids.flatMap((p) => ['-p', String(p)])], { stdio: 'ignore' });
  await sleep(500); // attaching to every thread takes a moment
  return child;
}

/** Detaches strace (SIGINT makes it write the summary) and reads { name: calls } for `events`'s names. */
export async function straceStop(child, events, file) {
  const gone = once(child, 'exit');
  child.kill('SIGINT');
  await gone;
  const calls = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    // "% time  seconds  usecs/call  calls  [errors]  syscall"; the last line's name is "total".
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^[\d.]+$/.test(f[0])) continue;
    calls.set(f[f.length - 1], Number(f[3]));
  }
  const out = {};
  for (const name of Object.keys(events)) out[name] = calls.get(name) ?? 0;
  return out;
}
