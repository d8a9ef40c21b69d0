#!/usr/bin/env node
/**
 * CPU per signature and signatures per second on a cold signature cache, per
 * algorithm, with the dnssec plugin's own signer (dist/), one thread; and the
 * time one cold signed reply holds the event loop: an SRV answer for N
 * instances registered by IP (one RRSIG for the SRV set and one per target's
 * A record in the additional section). A measurement, not a test.
 *
 *   npm run build && node bench/dnssec-sign.mjs [--n 2000] [--instances 20]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const dist = new URL('../dist/', import.meta.url);
const { loadKey } = await import(new URL('plugins/dnssec/keys.js', dist));
const { ZoneSigner } = await import(new URL('plugins/dnssec/signer.js', dist));
const { signReply } = await import(new URL('plugins/dnssec/sign-reply.js', dist));
const { ManualClock } = await import(new URL('src/clock.js', dist));

const { values: o } = parseArgs({ options: { n: { type: 'string', default: '2000' }, instances: { type: 'string', default: '20' } } });
const n = Number(o.n);
const inst = Number(o.instances);
const testdata = fileURLToPath(new URL('../plugins/dnssec/testdata/', import.meta.url));
const keys = { ECDSAP256SHA256: 'Kskydns.local.+013+52120', ED25519: 'Kskydns.local.+015+03041', RSASHA256: 'Kskydns.local.+008+20143' };

console.log(`| algorithm | µs per signature (cold) | signatures/s | cold ${inst}-instance SRV reply (${inst + 1} signatures), CPU ms | same reply, signatures cached, CPU ms |`);
console.log('|---|---|---|---|---|');
for (const [alg, file] of Object.entries(keys)) {
  const key = await loadKey(file, testdata);
  const s = new ZoneSigner('skydns.local', [key], new ManualClock(), n * 2 + 100);
  const count = alg === 'RSASHA256' ? Math.ceil(n / 10) : n;
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < count; i++) s.sign([{ name: `i${i}.skydns.local`, type: 'A', ttl: 30, data: `10.0.${i >> 8 & 255}.${i & 255}` }], 30);
  const wall = performance.now() - w0;
  const cpu = process.cpuUsage(t0);
  const perSig = (cpu.user + cpu.system) / count;
  const msg = {
    rcode: 0,
    answers: Array.from({ length: inst }, (_, i) => ({ name: 'web.production.skydns.local', type: 'SRV', ttl: 30, data: { priority: 10, weight: 5, port: 80, target: `u${i}.skydns.local` } })),
    additionals: Array.from({ length: inst }, (_, i) => ({ name: `u${i}.skydns.local`, type: 'A', ttl: 30, data: `10.1.0.${i + 1}` })),
  };
  const q = { qname: 'web.production.skydns.local', name: 'web.production.skydns.local', qtype: 33 };
  // Cold: a fresh signature cache each time; CPU time (not wall: the machine may be shared), median of 21.
  const cpuMs = (fn) => {
    const c = process.cpuUsage();
    fn();
    const d = process.cpuUsage(c);
    return (d.user + d.system) / 1000;
  };
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const colds = [];
  for (let i = 0; i < 21; i++) {
    const fresh = new ZoneSigner('skydns.local', [key], new ManualClock(), 1000);
    colds.push(cpuMs(() => signReply(msg, q, fresh)));
  }
  const cold = median(colds);
  for (let i = 0; i < 200; i++) signReply(msg, q, s); // JIT warm-up
  const warms = [];
  for (let i = 0; i < 21; i++) warms.push(cpuMs(() => { for (let j = 0; j < 100; j++) signReply(msg, q, s); }) / 100);
  const warm = median(warms);
  console.log(`| ${alg} | ${perSig.toFixed(1)} | ${Math.round(count / (wall / 1000))} | ${cold.toFixed(2)} | ${warm.toFixed(3)} |`);
}
