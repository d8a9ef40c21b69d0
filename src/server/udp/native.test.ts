/**
 * The native batched UDP socket through its JS wrapper, on real sockets
 * (127.0.0.1 and ::1). Skips when the addon is not built, except in CI
 * (CI=true), where it must be there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DgramUdpSocket } from './dgram.js';
import { NativeUdpSocket, nativeBinding, nativeLiveSockets } from './native.js';
import type { UdpRemote, UdpSink } from './socket.js';

const avail = nativeBinding();
const skip = 'binding' in avail || process.env.CI === 'true' ? false : `native UDP addon unavailable: ${(avail as { reason: string }).reason}`;

interface Seen {
  msgs: Buffer[];
  remotes: UdpRemote[];
  settled: number;
  failed: unknown[];
}

function sink(answer: (msg: Buffer, remote: UdpRemote, seen: Seen) => Buffer | null | Promise<Buffer | null>): UdpSink & { seen: Seen } {
  const seen: Seen = { msgs: [], remotes: [], settled: 0, failed: [] };
  return {
    seen,
    answer: (msg, remote) => {
      seen.msgs.push(msg);
      seen.remotes.push(remote);
      return answer(msg, remote, seen);
    },
    settled: () => seen.settled++,
    failed: (err) => seen.failed.push(err),
    error: (err) => seen.failed.push(err),
  };
}

const echo = (msg: Buffer): Buffer => Buffer.concat([Buffer.from('re:'), msg]);

/** Sends every payload from one client socket and collects `want` replies (or what came within ms). */
async function exchange(type: 'udp4' | 'udp6', host: string, port: number, payloads: Buffer[], want = payloads.length, ms = 5000): Promise<{ replies: Buffer[]; clientPort: number }> {
  const c = dgram.createSocket({ type, recvBufferSize: 212992 });
  await new Promise<void>((r) => c.bind(0, host, () => r()));
  const replies: Buffer[] = [];
  const done = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    c.on('message', (m) => {
      replies.push(m);
      if (replies.length >= want) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  for (const p of payloads) c.send(p, port, host);
  await done;
  const clientPort = c.address().port;
  c.close();
  return { replies, clientPort };
}

test('IPv4: a burst arrives in batches, every reply goes back to its own source, sources are rinfo-shaped', { skip }, async () => {
  const s = sink(echo);
  const sock = await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4 }, s);
  try {
    // 200 in flight at once fit the default receive buffer (about 256 small datagrams on loopback).
    const payloads = Array.from({ length: 150 }, (_, i) => Buffer.from(`q${i}`));
    const [a, b] = await Promise.all([exchange('udp4', '127.0.0.1', sock.port, payloads), exchange('udp4', '127.0.0.1', sock.port, payloads.slice(0, 50))]);
    assert.equal(a.replies.length, 150);
    assert.equal(b.replies.length, 50);
    assert.deepEqual(new Set(a.replies.map(String)), new Set(payloads.map((p) => `re:${p}`)));
    const ports = new Set(s.seen.remotes.map((r) => r.port));
    assert.deepEqual(ports, new Set([a.clientPort, b.clientPort]));
    assert.deepEqual(Object.keys(s.seen.remotes[0]!), ['address', 'family', 'port', 'size']);
    assert.deepEqual(s.seen.remotes[0], { address: '127.0.0.1', family: 'IPv4', port: s.seen.remotes[0]!.port, size: s.seen.msgs[0]!.length });
    assert.equal(s.seen.settled, 200);
    const st = sock.stats();
    assert.equal(st.received, 200);
    assert.equal(st.sent, 200);
    assert.equal(st.dropped, 0);
    assert.ok(st.batches < st.received, `batched: ${st.batches} calls for ${st.received} datagrams`);
  } finally {
    sock.close();
  }
});

test('more than one wake-up holds (4 batches of 64) is read on the next loop turns, all answered', { skip }, async () => {
  const s = sink(echo);
  // A receive buffer that holds the whole burst (the default holds about 256 small datagrams).
  const sock = await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4, recvBufferSize: 212992 }, s);
  try {
    const payloads = Array.from({ length: 400 }, (_, i) => Buffer.from(`w${i}`));
    const r = await exchange('udp4', '127.0.0.1', sock.port, payloads);
    assert.equal(sock.stats().received, 400);
    assert.equal(sock.stats().sent, 400);
    assert.equal(r.replies.length, 400);
  } finally {
    sock.close();
  }
});

test('IPv6 ::1: the source address and family are kept per datagram', { skip }, async () => {
  const s = sink(echo);
  const sock = await NativeUdpSocket.bind({ host: '::1', port: 0, family: 6 }, s);
  try {
    const r = await exchange('udp6', '::1', sock.port, [Buffer.from('six'), Buffer.from('six2')]);
    assert.deepEqual(r.replies.map(String).sort(), ['re:six', 're:six2']);
    for (const rem of s.seen.remotes) assert.deepEqual(rem, { address: '::1', family: 'IPv6', port: r.clientPort, size: rem.size });
  } finally {
    sock.close();
  }
});

test('dual stack: bound to [::], an IPv4 client is ::ffff:a.b.c.d with family IPv6, exactly as node:dgram says', { skip }, async () => {
  const seen: Record<string, unknown> = {};
  for (const [name, bind] of [['native', NativeUdpSocket.bind], ['dgram', DgramUdpSocket.bind]] as const) {
    const s = sink(echo);
    const sock = await bind({ host: '::', port: 0, family: 6 }, s);
    try {
      const r = await exchange('udp4', '127.0.0.1', sock.port, [Buffer.from('v4')]);
      assert.deepEqual(r.replies.map(String), ['re:v4']);
      seen[name] = { ...s.seen.remotes[0]!, port: s.seen.remotes[0]!.port === r.clientPort };
    } finally {
      sock.close();
    }
  }
  assert.deepEqual(seen.native, { address: '::ffff:127.0.0.1', family: 'IPv6', port: true, size: 2 });
  assert.deepEqual(seen.native, seen.dgram);
});

test('the largest datagrams pass whole (no MSG_TRUNC cut, as node:dgram); a 64 KiB-class reply goes out', { skip }, async () => {
  const big = Buffer.alloc(65507, 7);
  big.write('head', 0);
  const s = sink((msg) => (msg.length > 1000 ? Buffer.alloc(60000, 1) : echo(msg)));
  const sock = await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4 }, s);
  try {
    const r = await exchange('udp4', '127.0.0.1', sock.port, [big, Buffer.from('small')]);
    assert.equal(s.seen.msgs.find((m) => m.length > 1000)?.length, 65507);
    assert.ok(s.seen.msgs.find((m) => m.length > 1000)!.equals(big));
    assert.deepEqual(r.replies.map((m) => m.length).sort((x, y) => x - y), [8, 60000]);
    assert.equal(sock.stats().truncated, 0);
  } finally {
    sock.close();
  }
});

test('async replies are queued when they resolve and flushed; the payload a request holds survives later batches', { skip }, async () => {
  const s = sink((msg) => new Promise((r) => setTimeout(() => r(echo(msg)), 5)));
  const sock = await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4 }, s);
  try {
    const payloads = Array.from({ length: 100 }, (_, i) => Buffer.from(`late${i}`));
    const r = await exchange('udp4', '127.0.0.1', sock.port, payloads);
    assert.deepEqual(new Set(r.replies.map(String)), new Set(payloads.map((p) => `re:${p}`)));
    assert.equal(s.seen.settled, 100);
  } finally {
    sock.close();
  }
});

test('close during a batch: the rest of the batch is not answered, nothing crashes, later sends are dropped and counted', { skip }, async () => {
  let sock: NativeUdpSocket | undefined;
  let late: ((b: Buffer) => void) | undefined;
  const s = sink((msg, _r, seen) => {
    if (seen.msgs.length === 1) return new Promise<Buffer>((r) => (late = r)); // answered after close
    if (seen.msgs.length === 3) sock!.close();
    return echo(msg);
  });
  sock = await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4 }, s);
  const port = sock.port;
  const c = dgram.createSocket('udp4');
  await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
  // Queue 40 datagrams in the socket before the loop turns, so they arrive as one batch.
  for (let i = 0; i < 40; i++) c.send(Buffer.from(`x${i}`), port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 300));
  c.close();
  assert.equal(s.seen.msgs.length, 3, 'nothing delivered after close');
  assert.equal(sock.queued(), 0);
  const dropped = sock.stats().dropped;
  assert.ok(dropped >= 1, 'the reply queued before the close in the same batch was dropped');
  late!(Buffer.from('too late'));
  await new Promise((r) => setImmediate(r));
  assert.equal(sock.stats().dropped, dropped + 1, 'a reply after close is dropped and counted');
  assert.equal(s.seen.settled, 3);
  sock.close(); // twice: harmless
});

test('the reply queue is bounded: past it replies are dropped and counted, never silently', { skip }, () => {
  const b = (avail as { binding: NonNullable<Parameters<typeof Object.keys>[0]> }).binding as unknown as {
    open: (...a: unknown[]) => { shared: ArrayBuffer };
    send: (h: unknown, buf: Buffer, a: Buffer, off: number) => boolean;
    stats: (h: unknown) => { dropped: number; queued: number };
    close: (h: unknown) => void;
    QUEUE_MAX: number;
  };
  const h = b.open(4, '127.0.0.1', 0, false, 0, 0, () => undefined);
  const to = Buffer.alloc(32);
  to.writeUInt16LE(2, 0); // AF_INET (little-endian hosts; the test machines are)
  to.writeUInt16BE(9, 2); // discard port; never flushed anyway
  to.writeUInt32BE(0x7f000001, 4);
  let ok = 0;
  for (let i = 0; i < b.QUEUE_MAX + 10; i++) if (b.send(h, Buffer.from('x'), to, 0)) ok++;
  assert.equal(ok, b.QUEUE_MAX);
  assert.equal(b.stats(h).dropped, 10);
  assert.equal(b.stats(h).queued, b.QUEUE_MAX);
  assert.throws(() => b.send(h, Buffer.from('x'), Buffer.alloc(32), 0), /not an IPv4\/IPv6 address/);
  b.close(h);
  assert.equal(b.stats(h).dropped, 10 + b.QUEUE_MAX, 'closing with replies queued counts them');
  assert.equal(b.send(h, Buffer.from('x'), to, 0), false, 'send after close');
  assert.equal(b.stats(h).dropped, 11 + b.QUEUE_MAX);
});

test('bind errors carry the errno code (EADDRINUSE) like dgram', { skip }, async () => {
  const s = sink(echo);
  const a = await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4 }, s);
  try {
    await assert.rejects(NativeUdpSocket.bind({ host: '127.0.0.1', port: a.port, family: 4 }, s), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
  } finally {
    a.close();
  }
  // SO_REUSEPORT: two owners of one port.
  const r1 = await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4, reusePort: true }, s);
  const r2 = await NativeUdpSocket.bind({ host: '127.0.0.1', port: r1.port, family: 4, reusePort: true }, s);
  assert.equal(r2.port, r1.port);
  r1.close();
  r2.close();
});

test('GC and exit: closed sockets are freed by their finalizers; open ones at exit do not crash', { skip }, () => {
  const mod = fileURLToPath(new URL('./native.js', import.meta.url));
  const script = `
    const { NativeUdpSocket, nativeLiveSockets } = await import(${JSON.stringify(mod)});
    const sink = { answer: () => null, settled() {}, failed() {}, error() {} };
    const base = nativeLiveSockets();
    for (let i = 0; i < 20; i++) (await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4 }, sink)).close();
    const open = await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4 }, sink);
    for (let i = 0; i < 10 && nativeLiveSockets() > base + 1; i++) {
      await new Promise((r) => setImmediate(r));
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    console.log('live', nativeLiveSockets() - base);
    process.exit(0); // with one socket still open
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^live 1$/m, 'only the open socket is left');
  assert.equal(typeof nativeLiveSockets(), 'number');
});

/** Why a network namespace (with tc for a shaped loopback) cannot be made here (null: it can, and it is made). */
function cannotShape(ns: string): string | null {
  for (const bin of ['ip', 'tc']) if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `\`${bin}\` (iproute2) is not installed`;
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8', timeout: 10_000 });
  if (add.status !== 0) return `\`ip netns add\` failed (${(add.stderr || '').trim() || `exit ${add.status}`}); root / CAP_SYS_ADMIN is needed`;
  return null;
}

/** A namespace of our own named after `what`, or null with the test skipped (outside CI only) when none can be made. */
function ownNamespace(t: TestContext, what: string): string | null {
  const ns = `skydns-${what}-${process.pid}`;
  const why = cannotShape(ns);
  if (!why) return ns;
  if (process.env.CI === 'true') assert.fail(why);
  t.skip(why);
  return null;
}

test('a full send buffer (EAGAIN) keeps replies queued until writable: every reply arrives, none dropped', { skip }, (t) => {
  // Inside a namespace of our own, loopback gets a token-bucket qdisc: datagrams wait in it charged
  // to the sender, so a 4 KiB SO_SNDBUF fills and sendmmsg says EAGAIN (on a plain loopback it never does).
  const ns = ownNamespace(t, 'eagain');
  if (!ns) return;
  try {
    for (const args of [['-n', ns, 'link', 'set', 'lo', 'up']]) assert.equal(spawnSync('ip', args).status, 0);
    assert.equal(spawnSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '20mbit', 'burst', '16kb', 'limit', '4mb']).status, 0);
    const mod = fileURLToPath(new URL('./native.js', import.meta.url));
    const script = `
      import dgram from 'node:dgram';
      const { NativeUdpSocket } = await import(${JSON.stringify(mod)});
      const reply = Buffer.alloc(1000, 1);
      const sink = { answer: () => reply, settled() {}, failed() {}, error() {} };
      const sock = await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4, sendBufferSize: 4096, recvBufferSize: 212992 }, sink);
      const c = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
      await new Promise((r) => c.bind(0, '127.0.0.1', r));
      let got = 0;
      const all = new Promise((r) => c.on('message', () => ++got === 300 && r()));
      for (let i = 0; i < 300; i++) c.send(Buffer.from('q' + i), sock.port, '127.0.0.1');
      await Promise.race([all, new Promise((r) => setTimeout(r, 20000).unref())]);
      console.log(JSON.stringify({ got, ...sock.stats() }));
      sock.close();
      c.close();
    `;
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const st = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { got: number; sent: number; dropped: number; wouldBlock: number; received: number };
    assert.equal(st.received, 300);
    assert.ok(st.wouldBlock > 0, `the send buffer filled (${r.stdout})`);
    assert.equal(st.sent, 300);
    assert.equal(st.dropped, 0);
    assert.equal(st.got, 300);
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  }
});

test('a worker thread ending with sockets open closes and frees them in its teardown', { skip }, () => {
  // In a child of its own: the live-socket count is per process, and this process has sockets of its own.
  const mod = fileURLToPath(new URL('./native.js', import.meta.url));
  const thread = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(mod)}).then(async ({ NativeUdpSocket }) => {
      const sink = { answer: () => null, settled() {}, failed() {}, error() {} };
      const socks = [];
      for (let i = 0; i < 5; i++) socks.push(await NativeUdpSocket.bind({ host: '127.0.0.1', port: 0, family: 4 }, sink));
      socks[0].close();
      parentPort.postMessage('ready');
    });
  `;
  const script = `
    const { Worker } = await import('node:worker_threads');
    const { nativeLiveSockets } = await import(${JSON.stringify(mod)});
    for (let round = 0; round < 3; round++) {
      const w = new Worker(${JSON.stringify(thread)}, { eval: true, execArgv: [] });
      await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
      await w.terminate();
    }
    console.log('live', nativeLiveSockets());
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  // The four open sockets of each thread are closed and freed by its teardown, the closed one by its finalizer there.
  assert.match(r.stdout, /^live 0$/m, 'every socket of the three threads was freed');
});

test('IPv6 link-local: the source keeps its scope id (fe80::2%v0), the reply goes back over it, exactly as node:dgram', { skip }, (t) => {
  // Two link-local addresses on a veth pair inside a namespace of our own (loopback has none).
  const ns = ownNamespace(t, 'll');
  if (!ns) return;
  try {
    for (const args of [
      ['link', 'set', 'lo', 'up'],
      ['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'],
      ['link', 'set', 'v0', 'up'],
      ['link', 'set', 'v1', 'up'],
      ['addr', 'add', 'fe80::1/64', 'dev', 'v0', 'nodad'],
      ['addr', 'add', 'fe80::2/64', 'dev', 'v1', 'nodad'],
    ]) assert.equal(spawnSync('ip', ['-n', ns, ...args]).status, 0, args.join(' '));
    const native = fileURLToPath(new URL('./native.js', import.meta.url));
    const dgramImpl = fileURLToPath(new URL('./dgram.js', import.meta.url));
    const script = `
      import dgram from 'node:dgram';
      const { NativeUdpSocket } = await import(${JSON.stringify(native)});
      const { DgramUdpSocket } = await import(${JSON.stringify(dgramImpl)});
      const out = {};
      for (const [name, Impl] of [['native', NativeUdpSocket], ['dgram', DgramUdpSocket]]) {
        let seen;
        const sink = { answer: (m, r) => ((seen = { ...r }), Buffer.from('ok')), settled() {}, failed() {}, error() {} };
        const sock = await Impl.bind({ host: 'fe80::1%v0', port: 0, family: 6 }, sink);
        const c = dgram.createSocket('udp6');
        await new Promise((r) => c.bind(0, 'fe80::2%v1', r));
        const got = new Promise((r) => c.once('message', (m) => r(String(m))));
        c.send('hi', sock.port, 'fe80::1%v0');
        const reply = await Promise.race([got, new Promise((r) => setTimeout(() => r('timeout'), 5000).unref())]);
        out[name] = { reply, address: seen?.address, family: seen?.family, fromClient: seen?.port === c.address().port };
        c.close();
        sock.close();
      }
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.deepEqual(out.native, { reply: 'ok', address: 'fe80::2%v0', family: 'IPv6', fromClient: true });
    assert.deepEqual(out.native, out.dgram);
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  }
});
