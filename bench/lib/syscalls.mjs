/**
 * System calls a server makes per query: `perf stat` counting the kernel's syscall
 * tracepoints in the server's processes (every thread; `-p` takes the PIDs of a workers
 * group too) for exactly as long as one dnsperf run lasts (`perf stat -p PIDS -- dnsperf`).
 * Tracepoint counting is done in the kernel: no ptrace stop per call (as `strace -c`
 * would add), so the server runs at its usual speed and batches as it usually does.
 * Needs perf (Debian: linux-perf) and tracefs; `perf stat -e instructions true` failing
 * does not matter here (hardware counters are not used).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
};

/**
 * Which of SYSCALL_EVENTS perf can count here: { events: {name: tracepoint} } or
 * { reason } when none (no perf, no tracefs, perf_event_paranoid too strict).
 */
export function probeSyscallCounting() {
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
