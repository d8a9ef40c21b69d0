/**
 * The catalog plugin over real sockets: a whole server (api, catalog, skydns,
 * synth) on port 0. The page's files with their caching and security headers,
 * the watch stream, the DNS answers it shows, deregistration with the secret.
 * The page itself in a real browser: test/catalog-browser.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../../src/testing/server.js';
import { CSP } from './handler.js';
import type { CatalogPlugin } from './index.js';
import { notModified } from './static-files.js';

const SKYFILE = `{
  chain: [
    { api: { listen: "127.0.0.1:0" } },
    { catalog: { listen: "127.0.0.1:0", secret: "pw", zone: "skydns.local" } },
    { skydns: { zone: "skydns.local" } },
    { synth: { zone: "skydns.local" } },
  ],
}`;

describe('catalog plugin', () => {
  let srv: TestServer;
  let base: string;
  before(async () => {
    srv = await startServer(SKYFILE);
    const link = srv.app.plugins.find((l) => l.name === 'catalog');
    assert.ok(link);
    base = (link.plugin as CatalogPlugin).url();
  });
  after(async () => srv.stop());

  it('serves the page, its script and style with an ETag, no-cache and a strict CSP; a matching If-None-Match is a 304', async () => {
    for (const [path, type] of [['/', 'text/html'], ['/catalog.js', 'text/javascript'], ['/catalog.css', 'text/css']] as const) {
      const res = await fetch(base + path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type')!, new RegExp(`^${type}`));
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.equal(res.headers.get('content-security-policy'), CSP);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      const etag = res.headers.get('etag')!;
      assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
      await res.arrayBuffer();
      const again = await fetch(base + path, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304, path);
      assert.equal((await again.arrayBuffer()).byteLength, 0);
    }
    assert.ok(!CSP.includes('unsafe'), 'no unsafe-inline or unsafe-eval');
    const html = await (await fetch(base + '/')).text();
    assert.ok(!/<script>|<style|\sstyle=|\son[a-z]+=/.test(html), 'no inline script, style or handler (the CSP would block them)');
    assert.ok(notModified('W/"a", "b"', '"b"'));
    assert.ok(!notModified('"a"', '"b"'));
  });

  it('says what the page needs, streams changes, shows the DNS answers of the chain, and deregisters only with the secret', async () => {
    const cfg = (await (await fetch(`${base}/catalog/config`)).json()) as { zone: string; secret: boolean };
    assert.deepEqual(cfg, { zone: 'skydns.local', secret: true });
    const registry = await srv.app.registry();
    await registry.put({ UUID: 'c1', Name: 'web', Version: '1.0', Environment: 'production', Region: 'east', Host: '10.0.0.7', Port: 8080, TTL: 60 });
    const poll = (await (await fetch(`${base}/catalog/watch?query=web.production`)).json()) as { type: string; services: Array<{ UUID: string }> };
    assert.equal(poll.type, 'reset');
    assert.deepEqual(poll.services.map((s) => s.UUID), ['c1']);

    const ans = (await (await fetch(`${base}/catalog/answers?name=web.production`)).json()) as { name: string; queries: Array<{ type: string; rcode: string; answers: string[]; additionals: string[] }> };
    assert.equal(ans.name, 'web.production.skydns.local.');
    const [srvQ, aQ] = ans.queries;
    assert.equal(srvQ!.rcode, 'NOERROR');
    assert.match(srvQ!.answers[0]!, /^web\.production\.skydns\.local\. \d+ IN SRV 10 100 8080 c1\.skydns\.local\.$/);
    assert.ok(srvQ!.additionals.some((a) => /^c1\.skydns\.local\. \d+ IN A 10\.0\.0\.7$/.test(a)), srvQ!.additionals.join('\n'));
    assert.match(aQ!.answers[0]!, /IN A 10\.0\.0\.7$/);
    const badName = await fetch(`${base}/catalog/answers?name=a..b`);
    assert.equal(badName.status, 400);
    assert.equal(((await badName.json()) as { code: string }).code, 'SKY_ERR_API_BAD_REQUEST');

    const denied = await fetch(`${base}/catalog/services/c1`, { method: 'DELETE' });
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as { code: string }).code, 'SKY_ERR_API_UNAUTHORIZED');
    const wrong = await fetch(`${base}/catalog/services/c1`, { method: 'DELETE', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    assert.ok(registry.get('c1'));
    const ok = await fetch(`${base}/catalog/services/c1`, { method: 'DELETE', headers: { authorization: 'Bearer pw' } });
    assert.equal(ok.status, 200);
    assert.equal(registry.get('c1'), undefined);
    const gone = await fetch(`${base}/catalog/services/c1`, { method: 'DELETE', headers: { authorization: 'pw' } });
    assert.equal(gone.status, 404);
    const route = await fetch(`${base}/nope`);
    assert.equal(route.status, 404);
    assert.equal(((await route.json()) as { code: string }).code, 'SKY_ERR_API_ROUTE');
  });

  it('counts its watchers and the api\'s apart in skydns_watch_watchers', async () => {
    const scrape = async (): Promise<string> => srv.app.metrics.registry.metrics();
    const ac = new AbortController();
    const res = await fetch(`${base}/catalog/watch`, { headers: { accept: 'text/event-stream' }, signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    assert.match(await scrape(), /^skydns_watch_watchers\{plugin="catalog"\} 1$/m);
    assert.match(await scrape(), /^skydns_watch_watchers\{plugin="api"\} 0$/m);
    ac.abort();
    await reader.cancel().catch(() => undefined);
    const end = Date.now() + 10_000;
    while (!/^skydns_watch_watchers\{plugin="catalog"\} 0$/m.test(await scrape())) {
      assert.ok(Date.now() < end, 'the closed stream is no longer counted');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
