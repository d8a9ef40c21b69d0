#!/usr/bin/env node
/**
 * Does node:cluster with two workers binding the same UDP port spread datagrams over them
 * on Linux? Each worker answers every query with a pre-encoded reply (as bare-udp.mjs) and
 * counts what it got; dnsperf drives the port; the primary then asks each worker for its
 * count and reads each worker's CPU time from /proc.
 *
 *   node bench/experiments/cluster-udp.mjs [--port 15350] [--workers 2] [--seconds 5] [--mode shared|reuseport|single]
 *
 * shared:    cluster default. The primary binds the socket and hands the same handle to
 *            every worker (all workers read one socket).
 * reuseport: each worker binds its own socket with `reusePort: true` (SO_REUSEPORT,
 *            kernel hashes flows over sockets). dgram only knows this option from
 *            Node 22.12 / 23.1; on older Node the second bind is expected to fail.
 * single:    one worker process (its own socket), for comparison.
 * Loopback only; every run is bounded by --seconds; workers are stopped by the primary.
 */
import cluster from 'node:cluster';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    port: { type: 'string', default: '15350' },
    workers: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '5' },
    mode: { type: 'string', default: 'shared' },
    qps: { type: 'string', default: '0' },
  },
});
const PORT = Number(o.port);

function serve(onReady) {
  const reply = Buffer.alloc(800);
  reply.writeUInt16BE(0x8400, 2);
  const sock = dgram.createSocket(o.mode === 'reuseport' ? { type: 'udp4', reusePort: true } : { type: 'udp4' });
  let count = 0;
  sock.on('message', (msg, rinfo) => {
    count++;
    const out = Buffer.allocUnsafe(reply.length);
    reply.copy(out);
    out[0] = msg[0];
    out[1] = msg[1];
    sock.send(out, rinfo.port, rinfo.address);
  });
  sock.on('error', (err) => {
    process.stderr.write(`worker ${process.pid}: ${err.code ?? err.message}\n`);
    process.exit(2);
  });
  sock.bind({ port: PORT, address: '127.0.0.1', exclusive: o.mode !== 'shared' }, onReady);
  return () => count;
}

if (cluster.isWorker) {
  const count = serve(() => process.send({ ready: true }));
  process.on('message', (m) => {
    if (m === 'count') process.send({ count: count() });
  });
} else {
  const { dnsperf } = await import('../lib/dnsperf.mjs');
  const { cpuMicros, loadavg } = await import('../lib/proc.mjs');
  const file = join(tmpdir(), `cluster-udp-queries-${process.pid}.txt`);
  writeFileSync(file, Array.from({ length: 100 }, (_, i) => `svc${i}.production.skydns.local SRV`).join('\n') + '\n');
  const pids = [];
  const workers = [];
  {
    // Servers always run in workers, so that reading dnsperf's output here never shares their CPU.
    for (let i = 0; i < (o.mode === 'single' ? 1 : Number(o.workers)); i++) {
      const w = cluster.fork();
      workers.push(w);
      const ok = await new Promise((resolve) => {
        w.once('message', (m) => resolve(Boolean(m.ready)));
        w.once('exit', (code) => resolve(`exited ${code}`));
      });
      if (ok !== true) {
        process.stdout.write(`${o.mode}: worker ${i + 1} could not bind 127.0.0.1:${PORT} (${ok})\n`);
        for (const x of workers) x.process.exitCode === null && x.kill();
        process.exit(0);
      }
      pids.push(w.process.pid);
    }
  }
  const cpu0 = pids.map(cpuMicros);
  // dnsperf runs in its own process; with single mode it would share our event loop's CPU, which is fine (it is a separate process).
  const r = await dnsperf({ port: PORT, file, seconds: Number(o.seconds), clients: 4, outstanding: 50, ...(Number(o.qps) ? { qps: Number(o.qps) } : {}) });
  const cpu = pids.map((p, i) => (cpuMicros(p) - cpu0[i]) / 1e6);
  const counts = await Promise.all(
      workers.map((w) => new Promise((resolve) => {
        w.once('message', (m) => resolve(m.count));
        w.send('count');
      })),
    );
  const total = counts.reduce((a, b) => a + b, 0);
  process.stdout.write(
    `${o.mode} (${workers.length} ${workers.length > 1 ? 'workers' : 'worker'}): dnsperf ${Math.round(r.qps)} QPS, lost ${r.lost}, avg ${(r.avgMs).toFixed(2)} ms; ` +
      `datagrams per process ${counts.map((c) => `${c} (${((100 * c) / total).toFixed(1)} %)`).join(', ')}; ` +
      `CPU s per process ${cpu.map((c) => c.toFixed(2)).join(', ')} = ${((1e6 * cpu.reduce((a, b) => a + b, 0)) / total).toFixed(1)} µs per datagram; load ${loadavg()}\n`,
  );
  for (const w of workers) w.kill();
  await Promise.all(workers.map((w) => new Promise((resolve) => (w.isDead() ? resolve() : w.once('exit', resolve)))));
}
