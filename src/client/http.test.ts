import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiBase, apiRequest, heartbeat, isSkyApiError, queryServices, SkyApiError } from './http.js';

/** A fetch that answers `res` and records what it was asked. */
function fake(res: () => Response | Promise<Response>): { fetch: typeof fetch; seen: Array<{ url: string; init: RequestInit | undefined }> } {
  const seen: Array<{ url: string; init: RequestInit | undefined }> = [];
  return { seen, fetch: async (url, init) => (seen.push({ url: String(url), init }), res()) };
}
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('client: apiRequest', () => {
  it('sends JSON with the secret as a Bearer token to the normalized URL', async () => {
    const f = fake(() => json(200, { UUID: 'a', TTL: 5 }));
    await heartbeat('http://h:1/', 'a b', 5, { secret: 's', fetch: f.fetch });
    assert.equal(f.seen[0]!.url, 'http://h:1/skydns/services/a%20b');
    assert.equal(f.seen[0]!.init!.method, 'PATCH');
    assert.equal(f.seen[0]!.init!.body, '{"TTL":5}');
    assert.deepEqual(f.seen[0]!.init!.headers, { accept: 'application/json', 'content-type': 'application/json', authorization: 'Bearer s' });
  });

  it('encodes the query pattern and leaves it off when empty', async () => {
    const f = fake(() => json(200, []));
    await queryServices('http://h:1', 'east.*.web', { fetch: f.fetch });
    await queryServices('http://h:1', '', { fetch: f.fetch });
    assert.deepEqual(f.seen.map((s) => s.url), ['http://h:1/skydns/services/?query=east.*.web', 'http://h:1/skydns/services/']);
  });

  it('a JSON error body gives status, code and field', async () => {
    const f = fake(() => json(400, { error: 'Port must be ...', code: 'SKY_ERR_REGISTRY_INVALID', field: 'Port' }));
    await assert.rejects(apiRequest('http://h:1', 'PUT', '/x', {}, { fetch: f.fetch }), (e) => {
      assert.ok(e instanceof SkyApiError);
      assert.deepEqual([e.status, e.code, e.path, e.message], [400, 'SKY_ERR_REGISTRY_INVALID', 'Port', 'Port must be ...']);
      return true;
    });
  });

  it('an error without a SkyDNS code (a proxy page, an unknown code) is SKY_ERR_API_HTTP with the status', async () => {
    for (const res of [() => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }), () => json(500, { error: 'x', code: 'SOMETHING_ELSE' })]) {
      await assert.rejects(apiRequest('http://h:1', 'GET', '/x', undefined, { fetch: fake(res).fetch }), (e) => isSkyApiError(e) && e.code === 'SKY_ERR_API_HTTP' && e.status >= 500);
    }
  });

  it('a 2xx body that is not JSON is an error, an empty one is undefined', async () => {
    await assert.rejects(apiRequest('http://h:1', 'GET', '/x', undefined, { fetch: fake(() => new Response('ok', { status: 200 })).fetch }), (e) => isSkyApiError(e, 200));
    assert.equal(await apiRequest('http://h:1', 'DELETE', '/x', undefined, { fetch: fake(() => new Response(null, { status: 204 })).fetch }), undefined);
  });

  it('a network failure or a timeout is status 0, SKY_ERR_API_UNREACHABLE', async () => {
    const refused: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    };
    await assert.rejects(apiRequest('http://h:1', 'GET', '/x', undefined, { fetch: refused }), (e) => isSkyApiError(e, 0) && e.code === 'SKY_ERR_API_UNREACHABLE' && /ECONNREFUSED/.test(e.message));
    const hang: typeof fetch = (_u, init) => new Promise((_r, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));
    await assert.rejects(apiRequest('http://h:1', 'GET', '/x', undefined, { fetch: hang, timeoutMs: 1 }), (e) => isSkyApiError(e, 0) && /no answer within 1 ms/.test(e.message));
  });

  it('apiBase keeps a path prefix, drops trailing slashes and refuses what is not http(s)', () => {
    assert.equal(apiBase('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080');
    assert.equal(apiBase('https://proxy.example/registry/'), 'https://proxy.example/registry');
    for (const bad of ['127.0.0.1:8080', 'ftp://x', '', 'not a url']) assert.throws(() => apiBase(bad), TypeError, bad);
  });
});
