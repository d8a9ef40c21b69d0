/**
 * API security: unauthorized writes change nothing; the per-client write
 * limit (429 + Retry-After); the header size limit (431); HTTPS with a
 * certificate from the Skyfile; callbacks carry the secret and never leave the
 * allowed networks, even for a callback stored before the list was set.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { isSkyError } from '../../src/errors.js';
import { startServer, type TestServer } from '../../src/testing/server.js';
import { body, expectError, fixture, type Fixture } from './api-fixture.js';
import type { ApiPlugin } from './index.js';

const apiOf = (srv: TestServer) => srv.app.plugins.find((l) => l.name === 'api')!.plugin as ApiPlugin;

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A raw HTTP/1.1 request over a real socket (node's parser, unlike inject()). */
function rawRequest(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', headers }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('api security: unauthorized writes', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({ secret: 'k' });
    assert.equal((await f.call({ method: 'PUT', url: '/skydns/services/s1', headers: { authorization: 'k' }, payload: body({ TTL: 60 }) })).statusCode, 201);
    assert.equal((await f.call({ method: 'PUT', url: '/skydns/callbacks/c1', headers: { authorization: 'k' }, payload: { Name: 'web', Reply: '127.0.0.1', Port: 9 } })).statusCode, 201);
  });
  after(() => f.close());

  it('get 401 and change nothing: no new, replaced, refreshed or removed service or callback', async () => {
    const before = JSON.stringify([f.registry.list(), f.registry.callbacks()]);
    const version = f.registry.version;
    f.clock.advance(10_000);
    const writes: [string, string, object?][] = [
      ['PUT', '/skydns/services/s2', body()],
      ['PUT', '/skydns/services/s1', body({ Host: '10.9.9.9' })],
      ['PATCH', '/skydns/services/s1', { TTL: 3600 }],
      ['DELETE', '/skydns/services/s1'],
      ['PUT', '/skydns/callbacks/c1', { Name: 'web', Reply: '10.6.6.6', Port: 80 }],
      ['PUT', '/skydns/callbacks/c2', { Name: 'web', Reply: '10.6.6.6', Port: 80 }],
      ['DELETE', '/skydns/callbacks/c1'],
    ];
    for (const [method, url, payload] of writes) {
      for (const headers of [{}, { authorization: 'wrong' }, { authorization: 'Bearer k2' }]) {
        expectError(await f.call({ method: method as 'PUT', url, headers, ...(payload ? { payload } : {}) }), 401, 'SKY_ERR_API_UNAUTHORIZED');
      }
    }
    assert.equal(f.registry.version, version, 'no write reached the registry');
    assert.equal(JSON.stringify([f.registry.list(), f.registry.callbacks()]), before);
  });
});

describe('api security: per-client write limit', () => {
  let f: Fixture;
  afterEach(() => f.close());
  const put = (uuid: string, remoteAddress: string) => f.call({ method: 'PUT', url: `/skydns/services/${uuid}`, remoteAddress, payload: body() });

  it('limits PUT and PATCH per client address with 429 and Retry-After; others and reads go on; tokens refill', async () => {
    f = await fixture({ writeLimit: { perSecond: 2, burst: 3, maxClients: 100 } });
    for (const u of ['a', 'b', 'c']) assert.equal((await put(u, '192.0.2.1')).statusCode, 201);
    const limited = await put('d', '192.0.2.1');
    expectError(limited, 429, 'SKY_ERR_API_RATE_LIMITED');
    assert.equal(limited.headers['retry-after'], '1');
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/a', remoteAddress: '192.0.2.1', payload: {} }), 429, 'SKY_ERR_API_RATE_LIMITED');
    assert.equal(f.registry.get('d'), undefined, 'the limited write did nothing');
    assert.equal((await put('e', '192.0.2.2')).statusCode, 201, 'another client is not limited');
    assert.equal((await f.call({ method: 'GET', url: '/skydns/services/a', remoteAddress: '192.0.2.1' })).statusCode, 200);
    assert.equal((await f.call({ method: 'DELETE', url: '/skydns/services/c', remoteAddress: '192.0.2.1' })).statusCode, 200);
    f.clock.advance(1000);
    assert.equal((await put('d', '192.0.2.1')).statusCode, 201);
    assert.equal((await f.call({ method: 'PATCH', url: '/skydns/services/a', remoteAddress: '192.0.2.1', payload: {} })).statusCode, 200);
    expectError(await put('f', '192.0.2.1'), 429, 'SKY_ERR_API_RATE_LIMITED');
  });

  it('a slow rate asks for a longer wait', async () => {
    f = await fixture({ writeLimit: { perSecond: 0.2, burst: 1, maxClients: 10 } });
    assert.equal((await put('a', '192.0.2.1')).statusCode, 201);
    assert.equal((await put('b', '192.0.2.1')).headers['retry-after'], '5');
  });

  it('checks the secret first: an unauthorized client spends no tokens', async () => {
    f = await fixture({ secret: 'k', writeLimit: { perSecond: 1, burst: 1, maxClients: 10 } });
    for (let i = 0; i < 5; i++) expectError(await put('x', '192.0.2.1'), 401, 'SKY_ERR_API_UNAUTHORIZED');
    const ok = await f.call({ method: 'PUT', url: '/skydns/services/x', remoteAddress: '192.0.2.1', headers: { authorization: 'k' }, payload: body() });
    assert.equal(ok.statusCode, 201);
  });
});

describe('api security: listener', () => {
  it('refuses request headers over maxHeaderSize with a JSON 431', async () => {
    const srv = await startServer(JSON.stringify({ chain: [{ api: { listen: '127.0.0.1:0', maxHeaderSize: 2048 } }] }));
    try {
      const url = `${apiOf(srv).url()}/skydns/regions/`;
      assert.equal((await rawRequest(url, { 'x-pad': 'a'.repeat(1000) })).status, 200);
      const big = await rawRequest(url, { 'x-pad': 'a'.repeat(4000) });
      assert.equal(big.status, 431);
      assert.equal(JSON.parse(big.body).code, 'SKY_ERR_API_BAD_REQUEST');
    } finally {
      await srv.stop();
    }
  });

  it('serves HTTPS with the certificate and key named in the Skyfile', { skip: haveOpenssl() ? false : 'openssl is not installed' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skydns-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      const srv = await startServer(JSON.stringify({ chain: [{ api: { listen: '127.0.0.1:0', secret: 'k', tls: { cert: 'cert.pem', key: 'key.pem' } } }] }), { baseDir: dir });
      try {
        const api = apiOf(srv);
        assert.match(api.url(), /^https:\/\/127\.0\.0\.1:\d+$/);
        const ca = readFileSync(join(dir, 'cert.pem'));
        const status = await new Promise<number>((resolve, reject) => {
          const req = https.request(`${api.url()}/skydns/services/t1`, { method: 'PUT', ca, headers: { authorization: 'k', 'content-type': 'application/json' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end(JSON.stringify(body()));
        });
        assert.equal(status, 201);
        assert.ok((await srv.app.registry()).get('t1'));
        // plain HTTP on the TLS port gets no API answer
        await assert.rejects(fetch(api.url().replace('https:', 'http:') + '/skydns/regions/', { headers: { authorization: 'k' } }).then(async (r) => { if (r.status === 200) return; throw new Error(`status ${r.status}`); }));
      } finally {
        await srv.stop();
      }
      await assert.rejects(
        startServer(JSON.stringify({ chain: [{ api: { listen: '127.0.0.1:0', tls: { cert: 'missing.pem', key: 'key.pem' } } }] }), { baseDir: dir }),
        (e: unknown) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID') && e.path === 'chain[0].api.tls.cert',
      );
      await assert.rejects(
        startServer(JSON.stringify({ chain: [{ api: { listen: '127.0.0.1:0', tls: { cert: 'key.pem', key: 'cert.pem' } } }] }), { baseDir: dir }),
        (e: unknown) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID') && e.path === 'chain[0].api.tls',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('api security: callbacks', () => {
  let receiver: http.Server;
  let port = 0;
  const calls: { url: string; authorization: string | undefined }[] = [];
  before(async () => {
    receiver = http.createServer((req, res) => {
      calls.push({ url: req.url ?? '', authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    port = (receiver.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => receiver.close(() => r())));

  async function removalCalls(apiOpts: Record<string, unknown>, storeDirectly: boolean): Promise<typeof calls> {
    calls.length = 0;
    const srv = await startServer(JSON.stringify({ registry: { fsync: false }, chain: [{ api: { listen: '127.0.0.1:0', ...apiOpts } }] }));
    try {
      const api = apiOf(srv);
      const registry = await srv.app.registry();
      const cb = { UUID: 'cb1', Name: 'web', Reply: '127.0.0.1', Port: port };
      if (storeDirectly) await registry.putCallback(cb); // as if stored before allowNetworks was set, or by another node
      else {
        const auth: Record<string, string> = apiOpts.secret ? { authorization: String(apiOpts.secret) } : {};
        const res = await fetch(`${api.url()}/skydns/callbacks/cb1`, { method: 'PUT', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(cb) });
        assert.equal(res.status, 201);
      }
      await registry.put({ UUID: 's1', ...body() } as never);
      await registry.remove('s1');
      await registry.flush();
      await api.callbacks!.idle();
      return [...calls];
    } finally {
      await srv.stop();
    }
  }

  it('a callback carries the shared secret in its Authorization header', async () => {
    assert.deepEqual(await removalCalls({ secret: 'cb-secret' }, false), [{ url: '/skydns/callbacks/cb1', authorization: 'cb-secret' }]);
    assert.deepEqual(await removalCalls({}, false), [{ url: '/skydns/callbacks/cb1', authorization: undefined }]);
  });

  it('a stored callback outside allowNetworks is never called', async () => {
    assert.deepEqual(await removalCalls({ callbacks: { allowNetworks: ['10.0.0.0/8'] } }, true), []);
    assert.equal((await removalCalls({ callbacks: { allowNetworks: ['127.0.0.0/8'] } }, true)).length, 1);
  });
});
