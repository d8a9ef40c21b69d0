/** Small helpers for the bench's tables. */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

export const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
};

export const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
export const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'n/a';
  }
}

export function machine() {
  return {
    nproc: sh('nproc', []),
    cpu: cpus()[0]?.model.trim() ?? 'n/a',
    lscpu: sh('sh', ['-c', 'lscpu | head -n 15']),
    kernel: sh('uname', ['-r']),
    node: process.version,
    dnsperf: `dnsperf ${sh('sh', ['-c', 'dnsperf -h 2>&1 | grep -i "^version" | cut -d" " -f2'])}`,
    named: sh('named', ['-v']),
    unbound: `unbound ${sh('sh', ['-c', 'unbound -V 2>&1 | head -n 1 | cut -d" " -f2'])}`,
    dnsmasq: `dnsmasq ${sh('sh', ['-c', '(/usr/sbin/dnsmasq --version || dnsmasq --version) 2>/dev/null | head -n 1 | cut -d" " -f3'])}`,
    perf: sh('sh', ['-c', 'perf --version 2>/dev/null']),
  };
}

export function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
