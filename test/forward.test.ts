/**
 * SkyDNS as a resolv.conf drop-in: a whole server whose chain is cache +
 * forward, resolving outside names through a test upstream on loopback over
 * UDP, TCP, and Node's own resolver (c-ares, as getent-style lookups do).
 */
import assert from 'node:assert/strict';
import { promises as dnsPromises } from 'node:dns';
import { after, before, describe, test } from 'node:test';
import type { Forwarder } from '../plugins/forward/forward.js';
import { ManualClock } from '../src/clock.js';
import { sendUdp } from '../src/testing/client.js';
import { startServer, type TestServer } from '../src/testing/server.js';
import { startUpstream, type TestUpstream } from '../src/testing/upstream.js';

const LONG = Array.from({ length: 8 }, (_, i) => `"${String(i).repeat(200)}"`).join(' ');
const RECORDS = [
  'www.example.org. 300 IN A 192.0.2.1',
  'www.example.org. 300 IN AAAA 2001:db8::1',
  'mail.example.org. 300 IN MX 10 mx.example.org.',
  `big.example.org. 300 IN TXT ${LONG}`,
];

function forwarder(srv: TestServer): Forwarder {
  return srv.app.plugins.find((l) => l.name === 'forward')!.plugin as Forwarder;
}

describe('cache + forward as the only nameserver', () => {
  let up: TestUpstream;
  let srv: TestServer;
  const clock = new ManualClock();
  before(async () => {
    up = await startUpstream({ records: RECORDS });
    srv = await startServer(`{ chain: [{ cache: {} }, { forward: { to: ["${up.address}"] } }] }`, { clock });
  });
  after(async () => {
    await srv.stop();
    await up.stop();
  });

  test('UDP and TCP clients get upstream answers; repeats come from the cache with TTLs counting down', async () => {
    const u = await srv.udp('WwW.eXample.ORG', 'A', { id: 4000 });
    assert.equal(u.msg!.id, 4000);
    assert.equal(u.rcode, 'NOERROR');
    assert.equal(u.msg!.questions[0]!.name, 'WwW.eXample.ORG');
    assert.deepEqual(u.msg!.answers!.map((a) => [a.name, a.ttl, a.data]), [['WwW.eXample.ORG', 300, '192.0.2.1']]);
    const sent = up.queries.length;
    clock.advance(10_000);
    const t = await srv.tcp('www.example.org', 'A');
    assert.deepEqual(t.msg!.answers!.map((a) => [a.ttl, a.data]), [[290, '192.0.2.1']]);
    assert.equal(up.queries.length, sent, 'answered from the cache');
    const nx = await srv.udp('nope.example.org', 'A');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.msg!.authorities![0]!.type, 'SOA');

    const text = await srv.app.metrics.registry.metrics();
    assert.match(text, /^skydns_cache_hits_total\{type="positive"\} 1$/m);
    assert.match(text, /^skydns_cache_entries\{type="denial"\} 1$/m);
    assert.match(text, new RegExp(`^skydns_forward_responses_total\\{to="${up.address}",rcode="NXDOMAIN"\\} 1$`, 'm'));
    assert.match(text, new RegExp(`^skydns_forward_upstream_healthy\\{to="${up.address}"\\} 1$`, 'm'));
  });

  test("Node's resolver (c-ares) resolves through it, including a reply too big for UDP", async () => {
    const r = new dnsPromises.Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${srv.port}`]);
    assert.deepEqual(await r.resolve4('www.example.org'), ['192.0.2.1']);
    assert.deepEqual(await r.resolve6('www.example.org'), ['2001:db8::1']);
    // Node 24 adds `type: 'MX'` to each record; compare the fields every version has.
    assert.deepEqual((await r.resolveMx('mail.example.org')).map(({ exchange, priority }) => ({ exchange, priority })), [{ exchange: 'mx.example.org', priority: 10 }]);
    const txt = await r.resolveTxt('big.example.org');
    assert.equal(txt[0]!.join('').length, 1600, 'c-ares retried over TCP after a truncated UDP reply');
    await assert.rejects(r.resolve4('nope.example.org'), (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND');
  });
});

test('many UDP clients at once: forwarded through a few upstream sockets, every client gets its own answer', async () => {
  const up = await startUpstream({ records: RECORDS });
  const srv = await startServer(`{ chain: [{ forward: { to: ["${up.address}"], udpSockets: 4 } }] }`);
  try {
    const names = Array.from({ length: 60 }, (_, i) => `c${i}.example.org`);
    const replies = await Promise.all(names.map((n) => srv.udp(n, 'A')));
    replies.forEach((r, i) => {
      assert.equal(r.rcode, 'NXDOMAIN');
      assert.equal(r.msg!.questions![0]!.name, names[i]);
    });
    const ports = new Set(up.queries.filter((q) => /^c\d+\.example\.org$/.test(q.name)).map((q) => q.remote.port));
    assert.ok(ports.size >= 1 && ports.size <= 4, `${ports.size} upstream source ports for 60 queries`);
    assert.ok(forwarder(srv).upstreams[0]!.udp.size <= 4);
  } finally {
    await srv.stop();
    await up.stop();
  }
  assert.equal(forwarder(srv).upstreams[0]!.udp.size, 0, 'stopping the server closes the pool');
});

test('a burst of one question from many UDP clients: one query upstream, every client gets the answer with its own ID', async () => {
  const up = await startUpstream({ records: RECORDS, hold: true });
  const srv = await startServer(`{ chain: [{ forward: { to: ["${up.address}"] } }] }`);
  try {
    const ids = Array.from({ length: 30 }, (_, i) => 1000 + i);
    const pending = ids.map((id) => srv.udp('www.example.org', 'A', { id }));
    // Should an assertion below fail, the replies that never come must not be unhandled rejections.
    for (const p of pending) p.catch(() => {});
    const fwd = forwarder(srv);
    const asked = () => up.queries.filter((q) => q.name === 'www.example.org').length;
    for (let i = 0; i < 5000 && (fwd.stats.merged < ids.length - 1 || asked() === 0); i++) await new Promise((r) => setImmediate(r));
    assert.equal(fwd.stats.merged, ids.length - 1, 'every query after the first waits for its reply');
    assert.equal(asked(), 1);
    up.release();
    const replies = await Promise.all(pending);
    replies.forEach((r, i) => {
      assert.equal(r.msg!.id, ids[i]);
      assert.deepEqual(r.msg!.answers!.map((a) => a.data), ['192.0.2.1']);
    });
    assert.match(await srv.app.metrics.registry.metrics(), new RegExp(`^skydns_forward_merged_total ${ids.length - 1}$`, 'm'));
  } finally {
    up.release();
    await srv.stop();
    await up.stop();
  }
});

test('loop detection at start: an upstream that relays back to this server is found and not used', async () => {
  let target = 0;
  let ready!: () => void;
  const known = new Promise<void>((r) => (ready = r));
  // A "local stub resolver" that forwards everything to SkyDNS: the classic resolv.conf loop.
  const relay = await startUpstream({
    handler: async (q) => {
      await known;
      const reply = await sendUdp('127.0.0.1', target, q.raw, 2000);
      return reply ? { raw: reply } : 'drop';
    },
  });
  const good = await startUpstream({ records: RECORDS });
  const srv = await startServer(`{ chain: [{ cache: {} }, { forward: { to: ["${relay.address}", "${good.address}"], policy: "sequential" } }] }`);
  try {
    target = srv.port;
    ready();
    const f = forwarder(srv);
    await f.loopCheckDone();
    assert.deepEqual(f.upstreams.map((u) => [u.name, u.loop]), [[relay.address, true], [good.address, false]]);
    assert.equal(relay.queries.length, 1, 'only the probe went through the relay, once');
    const r = await srv.udp('www.example.org', 'A');
    assert.equal(r.msg!.answers![0]!.data, '192.0.2.1');
    assert.equal(relay.queries.length, 1, 'the looping upstream is not used');
    assert.equal(srv.app.ready(), true);
  } finally {
    await srv.stop();
    await relay.stop();
    await good.stop();
  }
});
