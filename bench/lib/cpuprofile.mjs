/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per file,
 * optionally only the samples inside a time window (CLOCK_MONOTONIC µs, the clock of both
 * V8's profile timestamps and process.hrtime on Linux).
 */
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url).pathname;

function where(cf) {
  if (!cf.url) return '';
  let u = cf.url.replace(/^file:\/\//, '');
  if (u.startsWith(ROOT)) u = u.slice(ROOT.length);
  return u;
}

export function summarise(file, { from = -Infinity, to = Infinity } = {}) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const fn = new Map();
  const files = new Map();
  let total = 0;
  let idle = 0;
  let t = prof.startTime;
  let inWindow = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    if (t < from || t > to) continue;
    inWindow++;
    const w = prof.timeDeltas[i + 1] ?? 0; // the time until the next sample is this one's
    const cf = byId.get(prof.samples[i]).callFrame;
    total += w;
    if (cf.functionName === '(idle)') idle += w;
    const loc = where(cf);
    const key = `${cf.functionName || '(anonymous)'}\t${loc}${loc ? `:${cf.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + w);
    const fileKey = loc || cf.functionName;
    files.set(fileKey, (files.get(fileKey) ?? 0) + w);
  }
  const rank = (m) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, us]) => ({ key: k, ms: us / 1000, pct: (100 * us) / total, pctBusy: k.startsWith('(idle)') ? NaN : (100 * us) / (total - idle) }));
  return { samples: inWindow, totalMs: total / 1000, idleMs: idle / 1000, functions: rank(fn), files: rank(files) };
}
