/** Whole-server protocol behaviour over real UDP and TCP sockets on loopback. */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../src/clock.js';
import { decodeMessage, encodeQuery } from '../src/dns/decode.js';
import { isSkyError } from '../src/errors.js';
import { buildQuery, sendUdp, TcpClient } from '../src/testing/client.js';
import { occupyPort } from '../src/testing/ports.js';
import { startServer, type TestServer } from '../src/testing/server.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const skyfile = (extra = '') => `{ ${extra} chain: ["./echo-plugin.js"] }`;

/** Sends every packet from one socket; resolves with the replies received until `last`'s reply arrives. */
function sendBatch(port: number, packets: Buffer[], last: Buffer): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    const lastId = last.readUInt16BE(0);
    s.on('message', (m) => {
      got.push(m);
      if (m.readUInt16BE(0) === lastId) {
        s.close();
        resolve(got);
      }
    });
    for (const p of packets) s.send(p, port, '127.0.0.1');
    s.send(last, port, '127.0.0.1');
  });
}

describe('protocol', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer(skyfile(), { baseDir: fixtures });
  });
  after(() => srv.stop());

  test('answers through the chain over UDP and TCP', async () => {
    for (const r of [await srv.udp('a.echo.test', 'A'), await srv.tcp('a.echo.test', 'A')]) {
      assert.equal(r.rcode, 'NOERROR');
      assert.equal(r.msg!.answers![0]!.data, '192.0.2.1');
      assert.equal(r.msg!.flags.aa, true);
    }
  });

  test('question and owner names keep the client spelling (0x20)', async () => {
    const r = await srv.udp('MiXeD.EcHo.TeSt', 'A');
    assert.equal(r.msg!.questions[0]!.name, 'MiXeD.EcHo.TeSt');
    assert.equal(r.msg!.answers![0]!.name, 'MiXeD.EcHo.TeSt');
  });

  test('falls off the end of the chain: REFUSED', async () => {
    assert.equal((await srv.udp('example.org', 'A')).rcode, 'REFUSED');
  });

  test('a plugin that throws gets SERVFAIL and the server keeps serving', async () => {
    assert.equal((await srv.udp('boom.test', 'A')).rcode, 'SERVFAIL');
    assert.equal((await srv.tcp('boom.test', 'A')).rcode, 'SERVFAIL');
    assert.equal((await srv.udp('ok.echo.test', 'A')).rcode, 'NOERROR');
  });

  test('QR=1 and packets shorter than a header are dropped', async () => {
    const resp = buildQuery('a.echo.test', 'A', { id: 1 });
    resp[2] = resp[2]! | 0x80;
    const short = Buffer.from([0, 2, 1, 0, 0, 1, 0, 0, 0]);
    const good = buildQuery('a.echo.test', 'A', { id: 3 });
    const replies = await sendBatch(srv.port, [resp, short], good);
    assert.deepEqual(replies.map((r) => r.readUInt16BE(0)), [3]);
  });

  test('QDCOUNT != 1 is FORMERR, opcode other than QUERY is NOTIMP', async () => {
    const two = buildQuery('a.echo.test', 'A', { id: 10 });
    two.writeUInt16BE(2, 4);
    const notify = buildQuery('a.echo.test', 'A', { id: 11 });
    notify[2] = (notify[2]! & 0x87) | (4 << 3);
    for (const [pkt, rcode] of [[two, 1], [notify, 4]] as const) {
      const r = decodeMessage((await sendUdp('127.0.0.1', srv.port, pkt))!);
      assert.equal(r.rcode, rcode);
      assert.equal(r.qr, true);
      assert.equal(r.id, pkt.readUInt16BE(0));
    }
  });

  test('EDNS version != 0 is BADVERS with an OPT record', async () => {
    const q = encodeQuery({ id: 12, name: 'a.echo.test', type: 'A', edns: { udpSize: 1232, version: 1 } });
    const r = decodeMessage((await sendUdp('127.0.0.1', srv.port, q))!);
    assert.equal(r.rcode, 16);
    assert.ok(r.edns);
  });

  test('OPT is echoed only when the query had one; DO is copied', async () => {
    assert.equal((await srv.udp('a.echo.test', 'A')).msg!.edns, null);
    const r = await srv.udp('a.echo.test', 'A', { edns: { udpSize: 4096, do: true } });
    assert.deepEqual(r.msg!.edns, { udpSize: 1232, version: 0, do: true });
  });

  test('UDP replies are truncated to 512 without EDNS, to the EDNS size with it; TCP gets everything', async () => {
    const plain = await srv.udp('big.test', 'A');
    assert.equal(plain.msg!.flags.tc, true);
    assert.ok(plain.wire!.length <= 512);
    const edns = await srv.udp('big.test', 'A', { edns: { udpSize: 4096 } });
    assert.ok(edns.wire!.length <= 1232 && edns.wire!.length > 512);
    const tcp = await srv.tcp('big.test', 'A');
    assert.equal(tcp.msg!.flags.tc, false);
    assert.equal(tcp.msg!.answers!.length, 60);
  });

  test('TCP: several queries on one connection are answered concurrently', async () => {
    const c = await TcpClient.connect('127.0.0.1', srv.port);
    const order: string[] = [];
    const slow = c.query('slow.test', 'A', { id: 100 }).then((r) => order.push(r.questions[0]!.name));
    const fast = c.query('release.test', 'A', { id: 101 }).then((r) => order.push(r.questions[0]!.name));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ['release.test', 'slow.test']);
    c.close();
  });

  test('TCP: frames split across writes and coalesced in one write', async () => {
    const c = await TcpClient.connect('127.0.0.1', srv.port);
    const q1 = buildQuery('one.echo.test', 'A', { id: 201 });
    const q2 = buildQuery('two.echo.test', 'A', { id: 202 });
    const frame = (q: Buffer) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]);
    const both = Buffer.concat([frame(q1), frame(q2)]);
    const replies = new Promise<Buffer[]>((resolve) => {
      let buf = Buffer.alloc(0);
      const got: Buffer[] = [];
      c.sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.length === 2) resolve(got);
      });
    });
    c.sock.write(both.subarray(0, 5));
    await new Promise((r) => setImmediate(r));
    c.sock.write(both.subarray(5));
    const ids = (await replies).map((r) => r.readUInt16BE(0)).sort();
    assert.deepEqual(ids, [201, 202]);
    c.close();
  });

  test('malformed packets of every shape never stop the server', async () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    const base = buildQuery('web.echo.test', 'A', { edns: { udpSize: 1232 } });
    const junk: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 1 + (rnd() % 5); k++) b[rnd() % b.length] = rnd();
      b.writeUInt16BE(i, 0);
      junk.push(rnd() % 5 === 0 ? b.subarray(0, rnd() % b.length) : b);
    }
    // In batches, so neither side's socket buffer overflows (UDP would drop the sentinel).
    for (let i = 0; i < junk.length; i += 200) {
      const good = buildQuery('alive.echo.test', 'A', { id: 65000 + i / 200 });
      const replies = await sendBatch(srv.port, junk.slice(i, i + 200), good);
      for (const r of replies) assert.equal(decodeMessage(r).qr, true);
    }
    assert.equal((await srv.tcp('alive.echo.test', 'A')).rcode, 'NOERROR');
  });
});

describe('limits', () => {
  test('TCP idle timeout closes a quiet connection (injected clock)', async () => {
    const clock = new ManualClock();
    const srv = await startServer(skyfile('dns: { tcp: { idleTimeoutMs: 5000 } },'), { baseDir: fixtures, clock });
    try {
      const c = await TcpClient.connect('127.0.0.1', srv.port);
      assert.equal((await c.query('x.echo.test', 'A')).rcode, 0);
      // wait until the server has re-armed the idle timer after answering
      while (clock.timers === 0) await new Promise((r) => setImmediate(r));
      clock.advance(4999);
      assert.equal(c.sock.destroyed, false);
      assert.equal((await c.query('y.echo.test', 'A')).rcode, 0);
      while (clock.timers === 0) await new Promise((r) => setImmediate(r));
      clock.advance(5000);
      await c.closed;
    } finally {
      await srv.stop();
    }
  });

  test('TCP idle timeout: trickled bytes of an unfinished query do not keep a connection open', async () => {
    const clock = new ManualClock();
    const srv = await startServer(skyfile('dns: { tcp: { idleTimeoutMs: 5000 } },'), { baseDir: fixtures, clock });
    try {
      const c = await TcpClient.connect('127.0.0.1', srv.port);
      while (clock.timers === 0) await new Promise((r) => setImmediate(r));
      for (let i = 0; i < 4; i++) {
        c.sock.write(Buffer.from([0]));
        clock.advance(1000);
      }
      clock.advance(1000);
      await c.closed;
    } finally {
      await srv.stop();
    }
  });

  test('TCP connections beyond the cap are closed at once', async () => {
    const srv = await startServer(skyfile('dns: { tcp: { maxConnections: 2 } },'), { baseDir: fixtures });
    try {
      const a = await TcpClient.connect('127.0.0.1', srv.port);
      const b = await TcpClient.connect('127.0.0.1', srv.port);
      assert.equal((await a.query('a.echo.test', 'A')).rcode, 0);
      assert.equal((await b.query('b.echo.test', 'A')).rcode, 0);
      const c = await TcpClient.connect('127.0.0.1', srv.port);
      await c.closed;
      a.close();
      await a.closed;
      while (srv.app.server.tcpConnections > 1) await new Promise((r) => setImmediate(r));
      const d = await TcpClient.connect('127.0.0.1', srv.port);
      assert.equal((await d.query('d.echo.test', 'A')).rcode, 0);
      b.close();
      d.close();
    } finally {
      await srv.stop();
    }
  });

  test('queries past the in-flight cap are shed with REFUSED, and the server recovers', async () => {
    const srv = await startServer(skyfile('dns: { maxInFlight: 1 },'), { baseDir: fixtures });
    try {
      const slow = srv.udp('slow.test', 'A');
      while (srv.app.server.queriesInFlight < 1) await new Promise((r) => setImmediate(r));
      assert.equal((await srv.udp('a.echo.test', 'A')).rcode, 'REFUSED');
      // release.test is itself shed while slow.test holds the only slot, so release over the fixture directly
      const { default: echo } = await import('./fixtures/echo-plugin.js');
      const p = await echo.setup({ address: '192.0.2.1' }, {} as never);
      await p.serveDNS!({ name: 'release.test' } as never, () => Promise.reject(new Error('unused')));
      assert.equal((await slow).rcode, 'NOERROR');
      assert.equal((await srv.udp('a.echo.test', 'A')).rcode, 'NOERROR');
    } finally {
      await srv.stop();
    }
  });

  test('a port in use fails with SKY_ERR_LISTEN naming the address', async () => {
    const { port, close } = await occupyPort();
    try {
      await assert.rejects(
        startServer(`{ dns: { listen: ["127.0.0.1:${port}"] }, chain: ["log"] }`, { keepListen: true }),
        (e: unknown) => isSkyError(e, 'SKY_ERR_LISTEN') && e.message.includes(`127.0.0.1:${port}`) && /in use/.test(e.message),
      );
    } finally {
      await close();
    }
  });
});
