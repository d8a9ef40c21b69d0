#!/usr/bin/env node
// Long fuzz run (never part of npm test). Build first: npm run build.
//
//   node bench/fuzz.mjs [--inputs 1000000] [--server-inputs 200000] [--seed N] [--hang-ms 5000]
//
// 1. The wire layer (parseQuery, the replies built from it, decodeMessage,
//    prepareWire) on --inputs mutated packets, in a worker watched for hangs.
// 2. A whole server (skydns + synth over an embedded registry with services)
//    in a child process, fed --server-inputs mutated queries over UDP, then as
//    many over TCP, with sentinel queries; the child's RSS is sampled.
// Reports inputs/s, failures, hangs and RSS; exits 1 if anything broke.
// The same checks run briefly in npm test (test/fuzz/).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const inputs = arg('inputs', 1_000_000);
const serverInputs = arg('server-inputs', 200_000);
const seed = arg('seed', Date.now() % 2 ** 31);
const hangMs = arg('hang-ms', 5000);

const { runWireFuzz } = await import(`${root}dist/test/fuzz/wire-fuzz.js`);
const { fuzzServer } = await import(`${root}dist/test/fuzz/server-fuzz.js`);

const mb = (b) => Math.round(b / 1048576);
const rssOf = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};
let broken = false;

console.log(`fuzz: seed ${seed}, ${inputs} wire inputs, ${serverInputs} server inputs per transport`);
console.log(`machine: ${hostname()}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}, ${new Date().toISOString()}`);

// 1. wire layer
{
  const rss = [];
  const r = await runWireFuzz({
    seed,
    inputs,
    hangMs,
    progressMs: 10_000,
    onProgress: (n) => {
      rss.push(process.memoryUsage().rss);
      console.log(`  wire: ${n} inputs, rss ${mb(process.memoryUsage().rss)} MB`);
    },
  });
  rss.push(process.memoryUsage().rss);
  const rate = Math.round((r.checked / r.ms) * 1000);
  console.log(`wire: ${r.checked} inputs in ${(r.ms / 1000).toFixed(1)} s = ${rate} inputs/s; failures ${r.failed}, hangs ${r.hangs.length}; slowest input ${r.slowestMs.toFixed(1)} ms; rss max ${mb(Math.max(0, ...rss))} MB`);
  for (const f of r.failures.slice(0, 10)) console.log(`  FAIL #${f.index} ${f.target}: ${f.error}\n    input ${f.hex}`);
  for (const h of r.hangs) console.log(`  HANG #${h.index}: input ${h.hex}`);
  if (r.failed || r.hangs.length) broken = true;
}

// 2. through a server in a child process
const child = spawn(process.execPath, ['--input-type=module', '-e', `
  const { startFuzzTarget } = await import(${JSON.stringify(`${root}dist/test/fuzz/target.js`)});
  const t = await startFuzzTarget();
  console.log(JSON.stringify({ port: t.srv.port }));
  process.stdin.resume();
  process.stdin.on('end', async () => {
    console.log(JSON.stringify({ errors: t.errors.length, firstErrors: t.errors.slice(0, 3), inFlight: t.srv.app.server.queriesInFlight }));
    await t.stop();
    process.exit(0);
  });
`], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = [];
let onLine = null;
let pending = '';
child.stdout.on('data', (d) => {
  pending += d;
  for (let i; (i = pending.indexOf('\n')) >= 0; ) {
    lines.push(JSON.parse(pending.slice(0, i)));
    pending = pending.slice(i + 1);
    onLine?.();
  }
});
const nextLine = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => (onLine = () => { onLine = null; r(lines.shift()); })));
const { port } = await nextLine();
const rssSamples = [];
const sampler = setInterval(() => rssSamples.push(rssOf(child.pid)), 1000);
for (const transport of ['udp', 'tcp']) {
  const r = await fuzzServer({ host: '127.0.0.1', port, seed: seed + (transport === 'tcp' ? 1 : 0), inputs: serverInputs, transport, sentinelEvery: 1000 });
  const rate = Math.round((r.sent / r.ms) * 1000);
  console.log(`server ${transport}: ${r.sent} inputs in ${(r.ms / 1000).toFixed(1)} s = ${rate} inputs/s; replies ${r.replies}/${r.expected} expected, missing ${r.missing}, unexpected ${r.unexpected}, problems ${r.problems.length}, sentinels ${r.sentinels} (failed ${r.sentinelFailures.length})${transport === 'tcp' ? `, framing cases ${r.framingCases}` : ''}`);
  for (const p of r.problems.slice(0, 10)) console.log(`  PROBLEM: ${p.error}\n    query ${p.query}\n    reply ${p.reply ?? '-'}`);
  for (const s of r.sentinelFailures.slice(0, 5)) console.log(`  SENTINEL: ${s}`);
  if (r.problems.length || r.missing || r.unexpected || r.sentinelFailures.length) broken = true;
}
clearInterval(sampler);
rssSamples.push(rssOf(child.pid));
child.stdin.end();
const end = await nextLine();
const q = (f) => rssSamples[Math.min(rssSamples.length - 1, Math.floor(rssSamples.length * f))] ?? 0;
const growth = q(1) - q(0.25);
console.log(`server: error log lines ${end.errors}, in flight at end ${end.inFlight}; rss start ${mb(q(0))} MB, at 25% ${mb(q(0.25))} MB, peak ${mb(Math.max(...rssSamples))} MB, end ${mb(q(1))} MB (growth after 25%: ${mb(growth)} MB)`);
for (const e of end.firstErrors) console.log(`  ERROR LOG: ${e}`);
if (end.errors || end.inFlight) broken = true;
if (growth > 64 * 1048576) {
  console.log('  RSS grew by more than 64 MB after the first quarter: memory is not bounded');
  broken = true;
}
console.log(broken ? 'RESULT: FAILURES (see above)' : 'RESULT: no crash, no hang, every reply well-formed, memory bounded');
process.exit(broken ? 1 : 0);
