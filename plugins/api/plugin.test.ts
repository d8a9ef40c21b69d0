import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import JSON5 from 'json5';
import { isSkyError } from '../../src/errors.js';
import { setupPlugin } from '../../src/testing/harness.js';
import { startServer, type TestServer } from '../../src/testing/server.js';
import api, { isCidr, type ApiPlugin } from './index.js';

const README = new URL('../../../plugins/api/README.md', import.meta.url);

/** The ```json5 blocks of the README's Examples section. */
function readmeExamples(): string[] {
  const text = readFileSync(README, 'utf8');
  const section = text.slice(text.indexOf('\n## Examples'), text.indexOf('\n## ', text.indexOf('\n## Examples') + 1));
  return [...section.matchAll(/```json5\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The Skyfile with every api listener moved to 127.0.0.1:0. */
function onPortZero(skyfile: string): string {
  const cfg = JSON5.parse(skyfile) as { chain: Array<string | Record<string, Record<string, unknown>>> };
  for (const e of cfg.chain) if (typeof e === 'object' && e.api) e.api.listen = '127.0.0.1:0';
  return JSON.stringify(cfg);
}

function apiOf(srv: TestServer): ApiPlugin {
  const link = srv.app.plugins.find((l) => l.name === 'api');
  assert.ok(link, 'the chain has an api plugin');
  return link.plugin as ApiPlugin;
}

describe('api plugin', () => {
  it('the README documents the man-page sections in order', () => {
    const heads = readFileSync(README, 'utf8').split('\n').filter((l) => /^#{1,2} /.test(l));
    assert.deepEqual(heads.slice(0, 5), ['# api', '## Name', '## Description', '## Syntax', '## Examples']);
  });

  it('every README example boots, serves HTTP on a real socket, and honours its secret', async () => {
    const examples = readmeExamples();
    assert.ok(examples.length >= 2);
    for (const ex of examples) {
      const secret = (JSON5.parse(ex) as { chain: Array<{ api?: { secret?: string } }> }).chain.find((e) => e.api)?.api?.secret;
      const srv = await startServer(onPortZero(ex));
      try {
        const plugin = apiOf(srv);
        assert.match(plugin.address(), /^127\.0\.0\.1:\d+$/);
        assert.equal(plugin.ready(), true);
        const headers: Record<string, string> = secret ? { authorization: `Bearer ${secret}` } : {};
        const res = await fetch(`${plugin.url()}/skydns/regions/`, { headers });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), {});
        if (secret) assert.equal((await fetch(`${plugin.url()}/skydns/regions/`)).status, 401);
      } finally {
        await srv.stop();
      }
    }
  });

  it('stop closes the listener', async () => {
    const srv = await startServer(JSON.stringify({ chain: [{ api: { listen: '127.0.0.1:0' } }] }));
    const url = apiOf(srv).url();
    assert.equal((await fetch(`${url}/skydns/services/`)).status, 200);
    await srv.stop();
    await assert.rejects(fetch(`${url}/skydns/services/`));
    assert.throws(() => apiOf(srv).address(), (e) => isSkyError(e, 'SKY_ERR_LISTEN'));
  });

  it('a listen address already in use fails the start with SKY_ERR_LISTEN naming the key', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(startServer(JSON.stringify({ chain: ['log', { api: { listen: `127.0.0.1:${port}` } }] })), (e) => {
        assert.ok(isSkyError(e, 'SKY_ERR_LISTEN'), String(e));
        assert.equal(e.path, 'chain[1].api.listen');
        return true;
      });
    } finally {
      blocker.close();
    }
  });

  it('setup refuses a listen that is not host:port and a network that is not a CIDR', async () => {
    await assert.rejects(setupPlugin(api, { listen: '8080' }), (e) => isSkyError(e, 'SKY_ERR_LISTEN_ADDRESS'));
    await assert.rejects(setupPlugin(api, { listen: 'example.com:80' }), (e) => isSkyError(e, 'SKY_ERR_LISTEN_ADDRESS'));
    await assert.rejects(setupPlugin(api, { callbacks: { allowNetworks: ['10.0.0.0/8', '10.0.0.0/33'] } }), (e) => {
      assert.ok(isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
      assert.equal(e.path, 'chain[0].api.callbacks.allowNetworks[1]');
      return true;
    });
  });

  it('the schema fills defaults and rejects unknown keys', async () => {
    await assert.rejects(setupPlugin(api, { listne: '127.0.0.1:1' }), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
    await assert.rejects(setupPlugin(api, { callbacks: { retry: 1 } }), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
    await assert.rejects(setupPlugin(api, { bodyLimit: 10 }), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
    const p = (await setupPlugin(api, {})) as ApiPlugin;
    assert.equal(p.ready(), false, 'not ready before start');
  });

  it('isCidr', () => {
    for (const ok of ['10.0.0.0/8', '127.0.0.1', '::1/128', '0.0.0.0/0', 'fd00::/8']) assert.equal(isCidr(ok), true, ok);
    for (const bad of ['10.0.0.0/33', '::/129', 'example.com/8', '10.0.0.0/x', '10.0.0.0/8/8', '', '10.0.0/8']) assert.equal(isCidr(bad), false, bad);
  });
});
