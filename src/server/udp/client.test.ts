/**
 * The connected client sockets (forward's upstream sockets) on both paths,
 * against a real dgram peer on 127.0.0.1 / ::1: sends in order, replies
 * from the peer only, an ICMP port unreachable as an error, and (native) a
 * batch of queries leaving with one sendmmsg. The native ones skip when the
 * addon is not built, except in CI (CI=true).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { openUdpClient } from './choose.js';
import { CLIENT_SLOT, nativeBinding, nativeOpenSockets, truncatedReply } from './native.js';
import type { UdpClient, UdpPath } from './socket.js';

const avail = nativeBinding();
const skipNative = 'binding' in avail || process.env.CI === 'true' ? false : `native UDP addon unavailable: ${(avail as { reason: string }).reason}`;

async function peer(type: 'udp4' | 'udp6', host: string, reply: (m: Buffer) => Buffer | null = (m) => Buffer.concat([Buffer.from('re:'), m])) {
  const s = dgram.createSocket({ type, recvBufferSize: 212992 });
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  const got: { msg: Buffer; port: number }[] = [];
  s.on('message', (msg, rinfo) => {
    got.push({ msg, port: rinfo.port });
    const out = reply(msg);
    if (out) s.send(out, rinfo.port, rinfo.address);
  });
  return { s, port: s.address().port, got, close: () => new Promise<void>((r) => s.close(() => r())) };
}

function collect(path: UdpPath, host: string, port: number, family: 4 | 6) {
  const msgs: Buffer[] = [];
  const errors: Error[] = [];
  let wake: () => void = () => {};
  const c: UdpClient = openUdpClient(path, { host, port, family }, {
    message: (m) => {
      msgs.push(m);
      wake();
    },
    error: (e) => {
      errors.push(e);
      wake();
    },
  });
  const until = (f: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting')), 5000);
      wake = () => {
        if (f()) {
          clearTimeout(t);
          resolve();
        }
      };
      wake();
    });
  return { c, msgs, errors, until };
}

for (const path of ['native', 'dgram'] as const) {
  const skip = path === 'native' ? skipNative : false;

  for (const [type, host, family] of [['udp4', '127.0.0.1', 4], ['udp6', '::1', 6]] as const) {
    test(`${path} ${host}: 200 datagrams leave in order from one random port, every reply comes back whole`, { skip }, async () => {
      const p = await peer(type, host);
      const { c, msgs, errors, until } = collect(path, host, p.port, family);
      assert.equal(c.path, path);
      for (let i = 0; i < 200; i++) c.send(Buffer.from(`q${i}`));
      await until(() => msgs.length === 200);
      assert.deepEqual(errors, []);
      assert.deepEqual(p.got.map((g) => g.msg.toString()), Array.from({ length: 200 }, (_, i) => `q${i}`));
      assert.equal(new Set(p.got.map((g) => g.port)).size, 1, 'one source port');
      assert.ok(p.got[0]!.port >= 1024, `an ephemeral port (${p.got[0]!.port})`);
      assert.deepEqual(msgs.map(String).sort(), Array.from({ length: 200 }, (_, i) => `re:q${i}`).sort());
      c.close();
      c.send(Buffer.from('after close')); // ignored, no throw
      await p.close();
    });
  }

  test(`${path}: a datagram from anyone but the peer never arrives (connected socket)`, { skip }, async () => {
    const p = await peer('udp4', '127.0.0.1');
    const { c, msgs, until } = collect(path, '127.0.0.1', p.port, 4);
    c.send(Buffer.from('hello'));
    await until(() => msgs.length === 1);
    const ourPort = p.got[0]!.port;
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((r) => stranger.send(Buffer.from('forged'), ourPort, '127.0.0.1', () => r()));
    c.send(Buffer.from('again'));
    await until(() => msgs.length === 2);
    assert.deepEqual(msgs.map(String), ['re:hello', 're:again']);
    stranger.close();
    c.close();
    await p.close();
  });

  test(`${path}: nothing listening on the peer's port is an error (ICMP port unreachable), at once`, { skip }, async () => {
    const p = await peer('udp4', '127.0.0.1');
    const port = p.port;
    await p.close();
    const { c, errors, until } = collect(path, '127.0.0.1', port, 4);
    c.send(Buffer.from('anyone?'));
    await until(() => errors.length >= 1);
    assert.equal((errors[0] as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    c.close();
  });
}

test('native: a reply longer than the client slot arrives as its header and question with TC set', { skip: skipNative }, async () => {
  // A DNS reply for a.test A with a 5000-byte tail: over CLIENT_SLOT.
  const question = Buffer.from([1, 0x61, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 1, 0, 1]);
  const p = await peer('udp4', '127.0.0.1', (q) => Buffer.concat([q.subarray(0, 2), Buffer.from([0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]), question, Buffer.alloc(CLIENT_SLOT + 900, 7)]));
  const { c, msgs, until } = collect('native', '127.0.0.1', p.port, 4);
  c.send(Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), question]));
  await until(() => msgs.length === 1);
  const m = msgs[0]!;
  assert.equal(m.length, 12 + question.length);
  assert.equal(m.readUInt16BE(0), 0x1234);
  assert.equal(m[2]! & 0x02, 0x02, 'TC');
  assert.deepEqual([m.readUInt16BE(4), m.readUInt16BE(6), m.readUInt16BE(8), m.readUInt16BE(10)], [1, 0, 0, 0]);
  assert.deepEqual(m.subarray(12), question);
  assert.equal(truncatedReply(Buffer.from([1, 2, 3])), null, 'no header: nothing');
  assert.equal(truncatedReply(Buffer.concat([Buffer.alloc(12), Buffer.from([70, 1, 2])])), null, 'no question: nothing');
  c.close();
  await p.close();
});

test('native: closed client sockets release their fd', { skip: skipNative }, async () => {
  // Sockets closed by the tests before finish closing on a later loop turn: start from a still count.
  const settled = async () => {
    let last = -1;
    for (let still = 0; still < 3; ) {
      await new Promise((r) => setImmediate(r));
      const n = nativeOpenSockets();
      still = n === last ? still + 1 : 0;
      last = n;
    }
    return last;
  };
  const before = await settled();
  const p = await peer('udp4', '127.0.0.1');
  const clients = Array.from({ length: 20 }, () => collect('native', '127.0.0.1', p.port, 4).c);
  try {
    assert.equal(nativeOpenSockets(), before + 20);
  } finally {
    for (const c of clients) c.close();
    await p.close();
  }
  assert.equal(await settled(), before);
});
