#!/usr/bin/env node
// Soak run (never part of npm test). Build first: npm run build.
//
//   node bench/soak.mjs [--minutes 10] [--ttl 10] [--puts 20] [--max-tracked 600] [--extra 200] [--report-s 30] [--no-fsync]
//
// Starts `skydns serve` (api + skydns + synth, embedded registry with fsync)
// on 127.0.0.1, then for --minutes runs rounds of: registrations over HTTP,
// heartbeats for services meant to stay, deletes, services left to expire,
// and DNS checks of every one over UDP (an acknowledged, unexpired
// registration must resolve: else it is LOST; a deleted or expired one must
// not: else STALE), plus --extra queries of service-set names. Reports the
// server's RSS over time, error counts and lost registrations; exits 1 on
// any error. The short version runs in npm test (test/soak.test.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const minutes = arg('minutes', 10);
const ttl = arg('ttl', 10);
const reportS = arg('report-s', 30);
const fsync = !process.argv.includes('--no-fsync');
const { SoakDriver } = await import(`${root}dist/test/soak/driver.js`);

const dir = mkdtempSync(join(tmpdir(), 'skydns-soak-'));
writeFileSync(join(dir, 'Skyfile'), JSON.stringify({
  dns: { listen: ['127.0.0.1:0'] },
  registry: { backend: 'embedded', path: './data', fsync },
  log: { level: 'info' },
  chain: [{ api: { listen: '127.0.0.1:0' } }, { skydns: { zone: 'skydns.local' } }, { synth: { zone: 'skydns.local' } }],
}));
const child = spawn(process.execPath, [join(root, 'bin/skydns'), 'serve', '-c', join(dir, 'Skyfile')], { stdio: ['ignore', 'pipe', 'inherit'] });
const serverErrors = [];
let dnsAddr;
let apiUrl;
const started = new Promise((resolve, reject) => {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; ) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let j;
      try {
        j = JSON.parse(line);
      } catch {
        continue;
      }
      if (j.level >= 50) serverErrors.push(line);
      if (j.address && !apiUrl) apiUrl = j.address;
      if (j.listen && !dnsAddr) dnsAddr = j.listen[0];
      if (dnsAddr && apiUrl) resolve();
    }
  });
  child.once('exit', (code) => reject(new Error(`skydns serve exited with ${code} before listening`)));
});
await started;
const [, host, port] = /^(.*):(\d+)$/.exec(dnsAddr);
const rssOf = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
};

console.log(`soak: ${minutes} min, TTL ${ttl} s, fsync ${fsync}, server pid ${child.pid}, DNS ${dnsAddr}, API ${apiUrl}`);
console.log(`machine: ${hostname()}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}, ${new Date().toISOString()}`);
const d = new SoakDriver(
  { dnsHost: host, dnsPort: Number(port), api: apiUrl, zone: 'skydns.local' },
  { now: () => Date.now(), putsPerRound: arg('puts', 20), maxTracked: arg('max-tracked', 600), ttl, marginMs: 1500, keepRounds: 40, extraQueries: arg('extra', 200), concurrency: 32 },
);
const t0 = Date.now();
const end = t0 + minutes * 60_000;
const samples = [];
let nextReport = t0;
const report = () => {
  const s = d.stats;
  const rss = rssOf();
  samples.push({ t: Math.round((Date.now() - t0) / 1000), rss });
  console.log(`  t=${String(Math.round((Date.now() - t0) / 1000)).padStart(5)} s  rss ${String(rss).padStart(4)} MB  rounds ${s.rounds}  queries ${s.queries}  puts ${s.puts}  patches ${s.patches}  deletes ${s.deletes}  gone ${s.verifiedGone}  live ${d.liveCount()}  lost ${s.lost.length}  stale ${s.stale.length}  dns errors ${s.dnsErrors.length}  http errors ${s.httpErrors.length}  late heartbeats ${s.lateHeartbeats}`);
};
while (Date.now() < end) {
  await d.round();
  if (Date.now() >= nextReport) {
    report();
    nextReport += reportS * 1000;
  }
}
report();
await d.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });

const s = d.stats;
const secs = (Date.now() - t0) / 1000;
const rss = samples.map((x) => x.rss);
const q = (f) => rss[Math.min(rss.length - 1, Math.floor(rss.length * f))];
console.log(`result: ${s.rounds} rounds in ${secs.toFixed(0)} s; ${s.queries} DNS queries (${Math.round(s.queries / secs)}/s), ${s.puts} registrations, ${s.patches} heartbeats, ${s.deletes} deletes, ${s.verifiedGone} verified gone after expiry/delete`);
console.log(`        lost ${s.lost.length}, stale ${s.stale.length}, DNS errors ${s.dnsErrors.length}, HTTP errors ${s.httpErrors.length}, server error log lines ${serverErrors.length}, late heartbeats (driver) ${s.lateHeartbeats}`);
console.log(`        server RSS: start ${q(0)} MB, at 25% ${q(0.25)} MB, max ${Math.max(...rss)} MB, end ${q(1)} MB`);
for (const x of [...s.lost, ...s.stale, ...s.dnsErrors, ...s.httpErrors, ...serverErrors.slice(0, 5)]) console.log(`  ${x}`);
const broken = s.lost.length || s.stale.length || s.dnsErrors.length || s.httpErrors.length || serverErrors.length;
console.log(broken ? 'RESULT: ERRORS (see above)' : 'RESULT: zero errors, zero lost registrations');
process.exit(broken ? 1 : 0);
