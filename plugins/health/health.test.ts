import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isSkyError } from '../../src/errors.js';
import { runPlugin, setupPlugin } from '../../src/testing/harness.js';
import { occupyPort } from '../../src/testing/ports.js';
import { startServer, type TestServer } from '../../src/testing/server.js';
import health, { type HealthPlugin } from './index.js';

function pluginOf(srv: TestServer): HealthPlugin {
  const link = srv.app.plugins.find((l) => l.name === 'health');
  assert.ok(link, 'the chain has a health plugin');
  return link.plugin as HealthPlugin;
}

/** A custom plugin whose readiness the test controls, loaded by path like any custom plugin. */
const GATE = `
export default {
  name: 'gate',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  setup() { return { ready: () => globalThis.__healthGate === true, serveDNS: (req, next) => next() }; },
};`;
const gate = (open: boolean) => ((globalThis as { __healthGate?: boolean }).__healthGate = open);

describe('health plugin', () => {
  it('passes every query on', async () => {
    const p = await setupPlugin(health, { listen: '127.0.0.1:0' });
    const r = await runPlugin(p, { name: 'a.test', type: 'A' });
    assert.equal(r.rcode, 'REFUSED');
  });

  it('/ready names what is waiting when the server can say, and omits the list when it cannot', async () => {
    let ready = false;
    const p = (await setupPlugin(health, {}, { ready: () => ready, notReady: () => (ready ? [] : ['registry', 'chain[3].forward']) })) as HealthPlugin;
    assert.deepEqual(p.readiness(), { ready: false, waiting: ['registry', 'chain[3].forward'] });
    ready = true;
    assert.deepEqual(p.readiness(), { ready: true });
    const bare = (await setupPlugin(health, {}, { ready: () => false })) as HealthPlugin;
    assert.deepEqual(bare.readiness(), { ready: false });
  });

  it('/ready reports a mirrored registry\'s staleness, and with maxLagSeconds a lag past it is not ready', async () => {
    let st: { stale: boolean; lagSeconds: number | null } = { stale: false, lagSeconds: 0.4 };
    const never = (await setupPlugin(health, {}, { ready: () => true, notReady: () => [], staleness: () => st })) as HealthPlugin;
    const bounded = (await setupPlugin(health, { maxLagSeconds: 10 }, { ready: () => true, notReady: () => [], staleness: () => st })) as HealthPlugin;
    assert.deepEqual(never.readiness(), { ready: true, stale: false, lagSeconds: 0.4 });
    assert.deepEqual(bounded.readiness(), { ready: true, stale: false, lagSeconds: 0.4 });
    st = { stale: true, lagSeconds: 12.5 };
    assert.deepEqual(never.readiness(), { ready: true, stale: true, lagSeconds: 12.5 }, 'default: stale but ready, as before');
    assert.deepEqual(bounded.readiness(), { ready: false, waiting: ['registry-lag'], stale: true, lagSeconds: 12.5 });
    st = { stale: true, lagSeconds: null };
    assert.equal(bounded.readiness().ready, false, 'never heard from etcd: past any bound');
    const embedded = (await setupPlugin(health, { maxLagSeconds: 10 }, { ready: () => true, staleness: () => undefined })) as HealthPlugin;
    assert.deepEqual(embedded.readiness(), { ready: true }, 'a registry that is its own source adds nothing');
  });

  it('/health is 200 OK; /ready is 503 with JSON until every plugin is ready, then 200', async () => {
    gate(false);
    const dir = await mkdtemp(join(tmpdir(), 'skydns-health-'));
    await writeFile(join(dir, 'gate.mjs'), GATE);
    const srv = await startServer(`{ chain: [{ health: { listen: "127.0.0.1:0" } }, "./gate.mjs"] }`, { baseDir: dir });
    try {
      const url = pluginOf(srv).url();
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const live = await fetch(`${url}/health`);
      assert.equal(live.status, 200);
      assert.equal(await live.text(), 'OK\n');

      const waiting = await fetch(`${url}/ready`);
      assert.equal(waiting.status, 503);
      assert.equal(waiting.headers.get('content-type'), 'application/json');
      assert.equal(waiting.headers.get('retry-after'), '1');
      const body = (await waiting.json()) as { ready: boolean; waiting?: string[] };
      assert.equal(body.ready, false);
      if (body.waiting) assert.ok(body.waiting.some((w) => w.includes('gate')), JSON.stringify(body));

      gate(true);
      const ok = await fetch(`${url}/ready`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { ready: true });
      // The DNS side is unaffected by the probes.
      assert.equal((await srv.udp('a.test', 'A')).rcode, 'REFUSED');
    } finally {
      await srv.stop();
      await rm(dir, { recursive: true, force: true });
      gate(false);
    }
  });

  it('/ready waits for the registry and the plugins that need it', async () => {
    const srv = await startServer(`{ chain: [{ health: { listen: "127.0.0.1:0" } }, { api: { listen: "127.0.0.1:0" } }, { skydns: { zone: "skydns.local" } }] }`);
    try {
      const res = await fetch(`${pluginOf(srv).url()}/ready`);
      assert.equal(res.status, 200, 'the embedded registry has loaded by the time start() resolves');
      assert.equal(srv.app.ready(), true);
    } finally {
      await srv.stop();
    }
  });

  it('404 for other paths, 405 for other methods, HEAD without a body', async () => {
    const srv = await startServer(`{ chain: [{ health: { listen: "127.0.0.1:0" } }] }`);
    try {
      const url = pluginOf(srv).url();
      assert.equal((await fetch(`${url}/`)).status, 404);
      assert.equal((await fetch(`${url}/healthz`)).status, 404);
      assert.equal((await fetch(`${url}/health?verbose=1`)).status, 200);
      const post = await fetch(`${url}/ready`, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
      const head = await fetch(`${url}/ready`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
    } finally {
      await srv.stop();
    }
  });

  it('stop closes the listener; an address in use fails the start with SKY_ERR_LISTEN naming the key', async () => {
    const srv = await startServer(`{ chain: [{ health: { listen: "127.0.0.1:0" } }] }`);
    const p = pluginOf(srv);
    const url = p.url();
    await srv.stop();
    await assert.rejects(fetch(`${url}/health`));
    assert.throws(() => p.address(), (e) => isSkyError(e, 'SKY_ERR_LISTEN'));

    const held = await occupyPort();
    try {
      await assert.rejects(startServer(`{ chain: ["log", { health: { listen: "127.0.0.1:${held.port}" } }] }`), (e) => {
        assert.ok(isSkyError(e, 'SKY_ERR_LISTEN'), String(e));
        assert.equal(e.path, 'chain[1].health.listen');
        return true;
      });
    } finally {
      await held.close();
    }
  });
});
