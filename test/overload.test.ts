/**
 * Overload: more slow queries than dns.maxInFlight. Past the cap the server
 * sheds (REFUSED or drop, as configured) without the excess ever entering the
 * chain, so the work and memory held are bounded by the cap, not by the
 * flood; once the slow queries finish it serves normally again by itself.
 * Counts, not RSS: the hold fixture counts queries held in the chain.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeMessage } from '../src/dns/decode.js';
import { buildQuery, TcpClient } from '../src/testing/client.js';
import { startServer, type TestServer } from '../src/testing/server.js';
import { hold } from './fixtures/hold-plugin.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const boot = (dns: string) => startServer(`{ dns: { ${dns} }, chain: ["./hold-plugin.js"] }`, { baseDir: fixtures });

/** Waits (bounded) for `cond`; fails naming `what` if it never holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i >= 10_000) assert.fail(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * A UDP client socket that keeps every reply by ID. `wave` sends queries and
 * then a malformed one (QDCOUNT=2): protocol errors are answered before the
 * in-flight check, and one socket's datagrams are handled in order, so once
 * its FORMERR is back every query of the wave has been admitted or shed.
 * Waves stay small so the kernel's socket buffer never drops a datagram.
 */
async function udpClient(port: number) {
  const sock = dgram.createSocket('udp4');
  const replies = new Map<number, number>(); // id -> rcode, queries only
  const barriers = new Set<number>();
  sock.on('message', (m) => {
    const id = m.readUInt16BE(0);
    if (id >= 60000) barriers.add(id);
    else replies.set(id, decodeMessage(m).rcode);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  let barrier = 60000;
  const send = (name: string, id: number) => sock.send(buildQuery(name, 'A', { id }), port, '127.0.0.1');
  return {
    replies,
    send,
    async wave(names: [string, number][]): Promise<void> {
      for (const [name, id] of names) send(name, id);
      const b = barrier++;
      const formerr = buildQuery('barrier.test', 'A', { id: b });
      formerr.writeUInt16BE(2, 4);
      sock.send(formerr, port, '127.0.0.1');
      await until(() => barriers.has(b), `the FORMERR after a wave (${b})`);
    },
    close: () => sock.close(),
  };
}

const names = (prefix: string, from: number, n: number): [string, number][] => Array.from({ length: n }, (_, i) => [`${prefix}${from + i}.hold.test`, from + i]);

describe('overload', () => {
  let srv: TestServer | undefined;
  afterEach(async () => {
    hold.release();
    await srv?.stop();
    srv = undefined;
    hold.reset();
  });

  test('past maxInFlight queries are REFUSED without entering the chain; the server recovers', async () => {
    srv = await boot('maxInFlight: 32, shed: "refused"');
    const server = srv.app.server;
    const c = await udpClient(srv.port);
    try {
      for (let w = 0; w < 6; w++) await c.wave(names('q', 1 + 50 * w, 50));
      assert.equal(c.replies.size, 268, 'a reply for every shed query');
      assert.ok([...c.replies.values()].every((rcode) => rcode === 5), 'every shed query is REFUSED');
      assert.equal(server.queriesInFlight, 32);
      assert.equal(hold.held, 32);
      assert.equal(hold.entered, 32, 'shed queries never reach a plugin');
      // TCP and other names are shed alike while the cap is reached
      const tcp = await TcpClient.connect('127.0.0.1', srv.port);
      const viaTcp = await Promise.all(Array.from({ length: 40 }, (_, i) => tcp.query(`t${i}.hold.test`, 'A', { id: 1000 + i })));
      assert.ok(viaTcp.every((r) => r.rcode === 5));
      assert.equal((await srv.udp('fast.test', 'A')).rcode, 'REFUSED');
      assert.equal(hold.maxHeld, 32, 'never more than the cap in the chain');
      // release: the held queries are answered, nothing is left in flight, service is normal
      hold.release();
      await until(() => c.replies.size === 300, 'the held queries answered');
      assert.equal([...c.replies.values()].filter((rcode) => rcode === 0).length, 32);
      assert.equal(server.queriesInFlight, 0);
      assert.equal((await srv.udp('fast.test', 'A')).rcode, 'NOERROR');
      // (fewer than the cap: pipelined queries arriving together are all in flight at once)
      assert.deepEqual((await Promise.all(Array.from({ length: 20 }, (_, i) => tcp.query(`u${i}.hold.test`, 'A', { id: 2000 + i })))).map((r) => r.rcode), Array(20).fill(0));
      tcp.close();
    } finally {
      c.close();
    }
  });

  test('with shed: "drop" the excess gets no reply at all; the server recovers', async () => {
    srv = await boot('maxInFlight: 16, shed: "drop"');
    const c = await udpClient(srv.port);
    try {
      for (let w = 0; w < 4; w++) await c.wave(names('q', 1 + 50 * w, 50));
      assert.equal(c.replies.size, 0, 'no reply to a shed query');
      assert.equal(srv.app.server.queriesInFlight, 16);
      assert.equal(hold.maxHeld, 16);
      assert.equal(hold.entered, 16);
      hold.release();
      await until(() => c.replies.size === 16, 'the held queries answered');
      assert.ok([...c.replies.values()].every((rcode) => rcode === 0));
      assert.equal(srv.app.server.queriesInFlight, 0);
      assert.equal((await srv.udp('fast.test', 'A')).rcode, 'NOERROR');
    } finally {
      c.close();
    }
  });

  // One chunk can carry many frames: only maxPipelined of them may enter the chain at once.
  test('one TCP connection has at most tcp.maxPipelined queries in flight', async () => {
    srv = await boot('maxInFlight: 1000, tcp: { maxPipelined: 8 }');
    const c = await TcpClient.connect('127.0.0.1', srv.port);
    const other = await TcpClient.connect('127.0.0.1', srv.port);
    try {
      const replies = Array.from({ length: 100 }, (_, i) => c.query(`p${i}.hold.test`, 'A', { id: i + 1, timeoutMs: 5000 }).catch((e: Error) => e));
      await until(() => hold.held >= 8, '8 held queries');
      // another connection's query gets in: the first one's reading is paused, not the server
      const theirs = other.query('x.hold.test', 'A', { id: 7777, timeoutMs: 5000 }).catch((e: Error) => e);
      await until(() => hold.held >= 9, "the other connection's query");
      assert.equal(hold.maxHeld, 9, 'the first connection has 8 in flight, not 100');
      hold.release();
      assert.deepEqual((await Promise.all(replies)).map((r) => ('rcode' in r ? r.rcode : r.message)), Array(100).fill(0));
      const t = await theirs;
      assert.equal('rcode' in t ? t.rcode : t.message, 0);
    } finally {
      c.close();
      other.close();
    }
  });

  // A client that pipelines queries and never reads must not make the server buffer every reply.
  test('a TCP client that does not read its replies cannot make the server buffer without bound', async () => {
    srv = await boot('');
    const sock = net.connect({ host: '127.0.0.1', port: srv.port });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.pause(); // never read
    try {
      const q = buildQuery('big.test', 'A', { id: 1 });
      const frame = Buffer.concat([Buffer.from([0, q.length]), q]);
      const N = 20_000; // ~1 KB replies each: 20 MB if nothing pushes back
      for (let i = 0; i < N; i += 1000) sock.write(Buffer.concat(Array<Buffer>(1000).fill(frame)));
      // wait until the server stops taking queries (or has taken them all)
      let last = -1;
      for (let still = 0; still < 50 && hold.entered < N; ) {
        await new Promise((r) => setTimeout(r, 10));
        still = hold.entered === last ? still + 1 : 0;
        last = hold.entered;
      }
      assert.ok(hold.entered < N / 2, `the server answered ${hold.entered} of ${N} queries into a connection nobody reads`);
    } finally {
      sock.destroy();
    }
  });

  test('TCP connections past the cap are refused while existing ones are served', async () => {
    srv = await boot('tcp: { maxConnections: 4 }');
    const conns = await Promise.all(Array.from({ length: 4 }, () => TcpClient.connect('127.0.0.1', srv!.port)));
    await until(() => srv!.app.server.tcpConnections === 4, '4 connections');
    const extra = await Promise.all(Array.from({ length: 20 }, () => TcpClient.connect('127.0.0.1', srv!.port)));
    await Promise.all(extra.map((c) => c.closed));
    assert.equal(srv.app.server.tcpConnections, 4);
    for (const c of conns) assert.equal((await c.query('fast.test', 'A')).rcode, 0);
    for (const c of conns) c.close();
    await until(() => srv!.app.server.tcpConnections === 0, 'connections closed');
    assert.equal((await srv.tcp('fast.test', 'A')).rcode, 'NOERROR');
  });
});
