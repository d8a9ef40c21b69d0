/**
 * Watching through an etcd leader failover: three etcd members (real
 * processes), two SkyDNS nodes (api) on the etcd registry. A client watches
 * node B with the TypeScript client's watch() while registrations go to node
 * A; the etcd leader is SIGKILLed half way. Every registration A acknowledged
 * must reach B's watcher (as an event, or in a reset if the stream had to be
 * re-listed), and the expiry and deregistration after the failover too.
 * Waits are polls with generous give-up bounds; no timing is asserted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { watch, type WatchEvent } from '../src/client/watch.js';
import { EtcdCluster, etcdSkip, until } from '../src/testing/etcd.js';
import { startServer, type TestServer } from '../src/testing/server.js';

const TEST = 'a watcher on node B sees every registration node A acknowledged across an etcd leader SIGKILL';
const skip = etcdSkip('test/watch-cluster.test.js', [TEST]);

describe('watch across an etcd leader failover', () => {
  let etcd: EtcdCluster;
  const nodes: Array<{ srv: TestServer; api: string }> = [];

  before(async () => {
    if (skip) return;
    etcd = await EtcdCluster.start(3);
    for (let i = 0; i < 2; i++) {
      const srv = await startServer(JSON.stringify({
        registry: { backend: 'etcd', endpoints: etcd.endpoints, prefix: '/skydns', callTimeoutMs: 2000 },
        chain: [{ api: { listen: '127.0.0.1:0' } }, { skydns: { zone: 'skydns.local' } }],
      }));
      nodes.push({ srv, api: (srv.app.plugins.find((l) => l.name === 'api')!.plugin as unknown as { url(): string }).url() });
    }
  });
  after(async () => {
    for (const n of nodes) await n.srv.stop().catch(() => undefined);
    await etcd?.stop();
  });

  it(TEST, { skip }, async (t) => {
    const a = nodes[0]!;
    const b = nodes[1]!;
    const ac = new AbortController();
    const live = new Map<string, number>(); // UUID -> TTL as last seen by the watcher
    const kinds: string[] = [];
    let resets = 0;
    const follow = (async () => {
      for await (const ev of watch(b.api, 'web.production', { signal: ac.signal, retryMs: 100 })) apply(ev);
    })().catch((e: unknown) => {
      if (!ac.signal.aborted) throw e;
    });
    function apply(ev: WatchEvent): void {
      if (ev.type === 'reset') {
        resets++;
        live.clear();
        for (const s of ev.services) live.set(s.UUID, s.TTL);
        return;
      }
      kinds.push(`${ev.type}:${ev.service.UUID}`);
      if (ev.type === 'registered' || ev.type === 'updated') live.set(ev.service.UUID, ev.service.TTL);
      else live.delete(ev.service.UUID);
    }
    await until('the watcher has its first reset', () => resets === 1);

    const acked: string[] = [];
    const put = async (uuid: string, ttl = 3600): Promise<boolean> => {
      const res = await fetch(`${a.api}/skydns/services/${uuid}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Name: 'web', Version: '1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 80, TTL: ttl }),
        signal: AbortSignal.timeout(15_000),
      }).catch(() => undefined);
      if (res?.status === 201) acked.push(uuid);
      return res?.status === 201;
    };
    for (let i = 0; i < 10; i++) await put(`before${i}`);
    const leader = await etcd.waitLeader();
    await etcd.kill(leader, 'SIGKILL');
    t.diagnostic(`SIGKILLed etcd leader m${leader} after ${acked.length} registrations`);
    let refused = 0;
    for (let i = 0; acked.length < 30; i++) if (!(await put(`after${i}`))) refused++;
    t.diagnostic(`registrations refused during the election: ${refused}`);
    await until('the watcher on B holds every acknowledged registration', () => acked.every((u) => live.has(u)), 30_000);

    // After the failover: a short-lived registration expires, one is deleted; both reach the watcher.
    assert.ok(await put('brief', 2));
    await until('brief is seen', () => live.has('brief'), 30_000);
    const del = await fetch(`${a.api}/skydns/services/before0`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    await until('brief expires and before0 is deleted, as the watcher sees it', () => !live.has('brief') && !live.has('before0'), 30_000);
    if (resets === 1) {
      assert.ok(kinds.includes('expired:brief'), kinds.slice(-5).join());
      assert.ok(kinds.includes('deleted:before0'), kinds.slice(-5).join());
    }
    t.diagnostic(`resets seen: ${resets} (1 = the stream never had to re-list)`);
    ac.abort();
    await follow;
  });
});
