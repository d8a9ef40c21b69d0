import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSkyfile } from '../../src/config/load.js';
import { isSkyError } from '../../src/errors.js';
import { Metrics } from '../../src/metrics.js';
import { expectReply, runPlugin, setupPlugin } from '../../src/testing/harness.js';
import { occupyPort } from '../../src/testing/ports.js';
import { parsePrometheus, type Exposition } from '../../src/testing/prometheus.js';
import { startServer, type TestServer } from '../../src/testing/server.js';
import type { Plugin, Reply } from '../../src/plugin.js';
import metrics, { type MetricsPlugin } from './index.js';
import { typeLabel } from './metrics.js';

const answer = (rcode: number, by?: string): Plugin => ({
  serveDNS: async (): Promise<Reply> => ({ msg: { rcode, answers: rcode === 0 ? [{ name: 'a.test', type: 'A', ttl: 5, data: '192.0.2.1' }] : [] }, ...(by ? { by } : {}) }),
});

async function scrapeRegistry(m: Metrics): Promise<Exposition> {
  return parsePrometheus(await m.registry.metrics());
}

function pluginOf(srv: TestServer): MetricsPlugin {
  const link = srv.app.plugins.find((l) => l.name === 'metrics');
  assert.ok(link, 'the chain has a metrics plugin');
  return link.plugin as MetricsPlugin;
}

async function scrape(srv: TestServer): Promise<Exposition> {
  const res = await fetch(pluginOf(srv).url());
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

describe('metrics plugin (harness)', () => {
  it('counts each reply by type and transport, rcode and answering plugin, with its duration and sizes', async () => {
    const m = new Metrics();
    const p = await setupPlugin(metrics, { listen: '127.0.0.1:0', process: false }, { metrics: m });
    expectReply(await runPlugin([p, answer(0, 'skydns')], { name: 'a.test', type: 'A' }), { rcode: 'NOERROR', answer: ['a.test. 5 IN A 192.0.2.1'] });
    await runPlugin([p, answer(0, 'skydns')], { name: 'a.test', type: 'A', transport: 'tcp' });
    await runPlugin([p, answer(3, 'skydns')], { name: 'b.test', type: 'SRV' });
    await runPlugin(p, { name: 'c.test', type: 'TYPE65280' }); // falls off the chain: REFUSED, no plugin
    await runPlugin([p, { serveDNS: async () => ({ drop: true as const }) }], { name: 'd.test', type: 'AAAA' });

    const e = await scrapeRegistry(m);
    assert.equal(e.value('skydns_dns_requests_total', { type: 'A', transport: 'udp' }), 1);
    assert.equal(e.value('skydns_dns_requests_total', { type: 'A', transport: 'tcp' }), 1);
    assert.equal(e.value('skydns_dns_requests_total', { type: 'SRV', transport: 'udp' }), 1);
    assert.equal(e.value('skydns_dns_requests_total', { type: 'other', transport: 'udp' }), 1);
    assert.equal(e.sum('skydns_dns_requests_total'), 5);
    assert.equal(e.value('skydns_dns_responses_total', { rcode: 'NOERROR', plugin: 'skydns' }), 2);
    assert.equal(e.value('skydns_dns_responses_total', { rcode: 'NXDOMAIN', plugin: 'skydns' }), 1);
    assert.equal(e.value('skydns_dns_responses_total', { rcode: 'REFUSED', plugin: '' }), 1);
    assert.equal(e.value('skydns_dns_responses_total', { rcode: 'DROPPED', plugin: 'plugin1' }), 1);
    assert.equal(e.sum('skydns_dns_request_duration_seconds_count'), 5);
    assert.equal(e.value('skydns_dns_request_duration_seconds_bucket', { transport: 'udp', le: '+Inf' }), 4);
    // A dropped reply has no size.
    assert.equal(e.sum('skydns_dns_response_size_bytes_count'), 4);
    assert.equal(e.sum('skydns_dns_request_size_bytes_count'), 5);
    assert.equal(e.types.get('skydns_dns_request_duration_seconds'), 'histogram');
    assert.equal(e.value('skydns_build_info', { node: process.versions.node }), 1);
    assert.equal(e.value('skydns_process_open_fds'), undefined, 'process: false leaves the process metrics out');
  });

  it('a second plugin instance on the same app (a reload) counts into the same series', async () => {
    const m = new Metrics();
    const a = await setupPlugin(metrics, { listen: '127.0.0.1:0' }, { metrics: m });
    await runPlugin([a, answer(0)], { name: 'a.test', type: 'A' });
    const b = await setupPlugin(metrics, { listen: '127.0.0.1:0', path: '/m' }, { metrics: m });
    await runPlugin([b, answer(0)], { name: 'a.test', type: 'A' });
    const e = await scrapeRegistry(m);
    assert.equal(e.value('skydns_dns_requests_total', { type: 'A', transport: 'udp' }), 2);
    assert.ok((e.value('skydns_process_start_time_seconds') ?? 0) > 1_600_000_000);
    assert.ok((e.value('skydns_process_resident_memory_bytes') ?? 0) > 0);
    assert.ok((e.value('skydns_process_cpu_seconds_total') ?? -1) >= 0);
  });

  it('unknown types share one label value', () => {
    assert.equal(typeLabel('TYPE65280'), 'other');
    assert.equal(typeLabel('SRV'), 'SRV');
    assert.equal(typeLabel('HTTPS'), 'HTTPS');
  });

  it('rejects a path without a leading slash and unknown keys', async () => {
    await assert.rejects(setupPlugin(metrics, { path: 'metrics' }), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
    await assert.rejects(setupPlugin(metrics, { port: 9153 }), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
    await assert.rejects(setupPlugin(metrics, { listen: 'localhost' }), (e) => isSkyError(e, 'SKY_ERR_LISTEN_ADDRESS'));
  });
});

describe('metrics plugin (whole server)', () => {
  const skyfile = (extra = '') => `{
    chain: [
      { metrics: { listen: "127.0.0.1:0"${extra} } },
      { api: { listen: "127.0.0.1:0" } },
      { skydns: { zone: "skydns.local" } },
      { synth: { zone: "skydns.local" } },
    ],
  }`;

  it('is scraped over HTTP and parsed: queries, replies, registry size and changes', async () => {
    const srv = await startServer(skyfile());
    try {
      const apiUrl = (srv.app.plugins.find((l) => l.name === 'api')!.plugin as unknown as { url(): string }).url();
      const put = await fetch(`${apiUrl}/skydns/services/1001`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '192.0.2.10', Port: 8080, TTL: 60 }),
      });
      assert.equal(put.status, 201);
      assert.equal((await fetch(`${apiUrl}/skydns/services/1001`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"TTL":60}' })).status, 200);

      assert.equal((await srv.udp('web.production.skydns.local', 'SRV')).msg!.answers?.length, 1);
      assert.equal((await srv.tcp('web.production.skydns.local', 'A')).msg!.answers?.length, 1);
      assert.equal((await srv.udp('nope.production.skydns.local', 'SRV')).rcode, 'NXDOMAIN');
      assert.equal((await srv.udp('example.org', 'A')).rcode, 'REFUSED');

      const e = await scrape(srv);
      assert.equal(e.value('skydns_dns_requests_total', { type: 'SRV', transport: 'udp' }), 2);
      assert.equal(e.value('skydns_dns_requests_total', { type: 'A', transport: 'tcp' }), 1);
      assert.equal(e.value('skydns_dns_responses_total', { rcode: 'NOERROR', plugin: 'skydns' }), 1);
      assert.equal(e.value('skydns_dns_responses_total', { rcode: 'NOERROR', plugin: 'synth' }), 1);
      assert.equal(e.value('skydns_dns_responses_total', { rcode: 'NXDOMAIN', plugin: 'skydns' }), 1);
      assert.equal(e.value('skydns_dns_responses_total', { rcode: 'REFUSED', plugin: '' }), 1);
      assert.equal(e.sum('skydns_dns_request_duration_seconds_count'), 4);
      assert.equal(e.value('skydns_registry_services'), 1);
      assert.equal(e.value('skydns_registry_changes_total', { kind: 'put' }), 1, 'api, skydns and synth share one registry: counted once');
      assert.equal(e.value('skydns_registry_changes_total', { kind: 'refresh' }), 1);
      assert.equal(e.value('skydns_registry_changes_total', { kind: 'expire' }), 0);
      assert.equal(e.types.get('skydns_dns_requests_total'), 'counter');
      assert.ok(e.help.get('skydns_dns_requests_total'));
      for (const s of e.samples) assert.match(s.name, /^skydns_/, `${s.name} is in the skydns_ namespace`);
    } finally {
      await srv.stop();
    }
  });

  it('serves only GET/HEAD on its path', async () => {
    const srv = await startServer(skyfile(', path: "/stats"'));
    try {
      const p = pluginOf(srv);
      assert.match(p.url(), /^http:\/\/127\.0\.0\.1:\d+\/stats$/);
      assert.equal(p.ready(), true);
      const head = await fetch(p.url(), { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
      assert.equal((await fetch(`${p.url()}?x=1`)).status, 200);
      assert.equal((await fetch(`http://${p.address()}/metrics`)).status, 404);
      const post = await fetch(p.url(), { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
    } finally {
      await srv.stop();
    }
  });

  it('a reload that changes its options moves the listener and keeps the counts; one that does not keeps the listener', async () => {
    const srv = await startServer(skyfile());
    // The DNS listener stays where startServer put it (port 0 became a real port).
    const next = async (extra: string) => ({ ...(await parseSkyfile(skyfile(extra), { baseDir: srv.baseDir })), dns: srv.config.dns });
    try {
      await srv.udp('a.test', 'A');
      const before = pluginOf(srv);
      const oldUrl = before.url();
      await srv.app.reload(await next(', path: "/m2"'));
      const after = pluginOf(srv);
      assert.notEqual(after, before);
      await assert.rejects(fetch(oldUrl), 'the old listener is closed');
      await srv.udp('a.test', 'A');
      assert.match(after.url(), /\/m2$/);
      assert.equal((await scrape(srv)).value('skydns_dns_requests_total', { type: 'A', transport: 'udp' }), 2);
      await srv.app.reload(await next(', path: "/m2"'));
      assert.equal(pluginOf(srv), after, 'unchanged options: the same instance and listener');
      assert.equal((await fetch(after.url())).status, 200);
    } finally {
      await srv.stop();
    }
  });

  it('stop closes the listener', async () => {
    const srv = await startServer(skyfile());
    const p = pluginOf(srv);
    const url = p.url();
    assert.equal((await fetch(url)).status, 200);
    await srv.stop();
    await assert.rejects(fetch(url));
    assert.equal(p.ready(), false);
    assert.throws(() => p.address(), (e) => isSkyError(e, 'SKY_ERR_LISTEN'));
  });

  it('an address in use fails the start with SKY_ERR_LISTEN naming the key', async () => {
    const held = await occupyPort();
    try {
      await assert.rejects(startServer(`{ chain: ["log", { metrics: { listen: "127.0.0.1:${held.port}" } }] }`), (e) => {
        assert.ok(isSkyError(e, 'SKY_ERR_LISTEN'), String(e));
        assert.equal(e.path, 'chain[1].metrics.listen');
        return true;
      });
    } finally {
      await held.close();
    }
  });
});
