/**
 * acl and ratelimit in a whole server over real sockets on 127.0.0.1: a UDP
 * flood is limited (dropped, every second reply truncated) while TCP from the
 * same client is served and the limit lifts as the (injected) clock moves on;
 * acl refuses or drops by network and type; ANY over UDP is answered minimally.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { decodeMessage } from '../src/dns/decode.js';
import { buildQuery } from '../src/testing/client.js';
import { startServer, type TestServer } from '../src/testing/server.js';

const W = 'web.production.skydns.local';

/** Sends every packet from one socket and collects replies until `last`'s arrives. */
function sendBatch(port: number, packets: Buffer[], last: Buffer): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    s.on('message', (m) => {
      got.push(m);
      if (m.readUInt16BE(0) === last.readUInt16BE(0)) {
        s.close();
        resolve(got);
      }
    });
    for (const p of packets) s.send(p, port, '127.0.0.1');
    s.send(last, port, '127.0.0.1');
  });
}

async function start(chainHead: unknown[], clock = new ManualClock()): Promise<TestServer> {
  const srv = await startServer(JSON.stringify({ registry: { fsync: false }, chain: [...chainHead, { skydns: { zone: 'skydns.local' } }, { synth: { zone: 'skydns.local' } }] }), { clock });
  await (await srv.app.registry()).put({ UUID: 'a1', Name: 'web', Version: '1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 80, TTL: 3600 });
  return srv;
}

describe('ratelimit over sockets', () => {
  const clock = new ManualClock();
  let srv: TestServer;
  before(async () => {
    srv = await start([{ ratelimit: { responsesPerSecond: 5, burst: 10, slip: 2 } }], clock);
  });
  after(() => srv.stop());

  test('a UDP flood is limited, TCP from the same client is served, and the limit lifts with time', async () => {
    const flood = Array.from({ length: 40 }, (_, i) => buildQuery(W, 'SRV', { id: 100 + i }));
    const replies = await sendBatch(srv.port, flood.slice(0, -1), flood.at(-1)!);
    const msgs = replies.map((r) => decodeMessage(r));
    const answered = msgs.filter((m) => !m.flags.tc && m.answers!.length === 1);
    const truncated = msgs.filter((m) => m.flags.tc && m.answers!.length === 0);
    assert.equal(answered.length, 10, 'the burst is served');
    // 30 limited: every second one slips (TC=1, empty); the last query is one of them
    assert.equal(truncated.length, 15);
    assert.equal(replies.length, 25);
    // a client told to retry over TCP gets its answer there
    const tcp = await srv.tcp(W, 'SRV');
    assert.equal(tcp.rcode, 'NOERROR');
    assert.equal(tcp.msg!.answers!.length, 1);
    clock.advance(1000);
    const again = await srv.udp(W, 'SRV');
    assert.equal(again.msg!.answers!.length, 1, 'tokens refilled after a second');
  });

  test('ANY over UDP gets the RFC 8482 HINFO, over TCP the records', async () => {
    clock.advance(10_000);
    const udp = await srv.udp(W, 'ANY');
    assert.equal(udp.msg!.answers!.length, 1);
    assert.equal(udp.msg!.answers![0]!.type, 'HINFO');
    const tcp = await srv.tcp(W, 'ANY');
    assert.ok(tcp.msg!.answers!.every((a) => a.type !== 'HINFO'));
  });
});

describe('acl over sockets', () => {
  let srv: TestServer;
  before(async () => {
    srv = await start([
      { acl: { zones: ['skydns.local'], rules: [{ action: 'drop', type: ['TXT'] }, { action: 'refuse', net: ['127.0.0.0/8'], type: ['AAAA'] }, { action: 'allow', net: ['127.0.0.1'] }, { action: 'refuse' }] } },
    ]);
  });
  after(() => srv.stop());

  test('allowed, refused and dropped queries', async () => {
    assert.equal((await srv.udp(W, 'SRV')).msg!.answers!.length, 1);
    assert.equal((await srv.tcp(W, 'A')).msg!.answers!.length, 1);
    assert.equal((await srv.udp(W, 'AAAA')).rcode, 'REFUSED');
    const dropped = buildQuery(W, 'TXT', { id: 1 });
    const replies = await sendBatch(srv.port, [dropped], buildQuery(W, 'A', { id: 2 }));
    assert.deepEqual(replies.map((r) => r.readUInt16BE(0)), [2], 'only the allowed query is answered');
  });
});
