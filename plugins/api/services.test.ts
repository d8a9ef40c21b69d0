import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { body, expectError, fixture, type Fixture } from './api-fixture.js';

describe('api: service routes', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(() => f.close());

  const put = (uuid: string, b: Record<string, unknown> = body()) => f.call({ method: 'PUT', url: `/skydns/services/${uuid}`, payload: b });

  it('PUT registers (201) with Location, remaining TTL and RFC 3339 Expires; the record is in the registry', async () => {
    const res = await put('web1');
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, '/skydns/services/web1');
    assert.deepEqual(res.json(), { UUID: 'web1', ...body(), Expires: new Date(f.clock.now() + 30_000).toISOString() });
    assert.equal(f.registry.get('web1')?.Port, 8080);
  });

  it('PUT takes the UUID from the path, accepts an equal one in the body (any case), refuses a different one (400, UUID)', async () => {
    assert.equal((await put('a', body({ UUID: 'A' }))).statusCode, 201);
    expectError(await put('b', body({ UUID: 'c' })), 400, 'SKY_ERR_REGISTRY_INVALID', 'UUID');
    assert.equal(f.registry.get('b'), undefined);
    assert.equal(f.registry.get('c'), undefined);
  });

  it('PUT on a live UUID is 409; once it has expired the UUID can be registered again', async () => {
    await put('web1', body({ TTL: 5 }));
    expectError(await put('web1', body({ Port: 9 })), 409, 'SKY_ERR_REGISTRY_EXISTS', 'UUID');
    expectError(await put('WEB1'), 409, 'SKY_ERR_REGISTRY_EXISTS');
    f.clock.advance(5000);
    assert.equal((await put('web1', body({ Port: 9 }))).statusCode, 201);
    assert.equal(f.registry.get('web1')?.Port, 9);
  });

  it('PUT accepts SkyDNS 1 lower-case field names (Go decoded JSON case-insensitively)', async () => {
    const res = await put('x', { name: 'web', version: '1', environment: 'prod', region: 'east', host: 'h.example', port: 80, ttl: 10 });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().Host, 'h.example');
  });

  it('PUT with NoExpire: stays until deleted, answers without Expires', async () => {
    const res = await put('forever', body({ TTL: undefined, NoExpire: true }));
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().NoExpire, true);
    assert.equal(res.json().Expires, undefined);
    f.clock.advance(365 * 86400_000);
    assert.equal((await f.call({ method: 'GET', url: '/skydns/services/forever' })).statusCode, 200);
  });

  it('GET one: 200 with the remaining TTL and the absolute expiry; 404 once expired (no sweeper needed)', async () => {
    await put('web1');
    f.clock.advance(4_500);
    const res = await f.call({ method: 'GET', url: '/skydns/services/web1' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().TTL, 26, 'remaining seconds, rounded up');
    assert.equal(res.json().Expires, new Date(f.clock.now() + 25_500).toISOString());
    f.clock.advance(25_500);
    expectError(await f.call({ method: 'GET', url: '/skydns/services/web1' }), 404, 'SKY_ERR_REGISTRY_NOT_FOUND', 'UUID');
    expectError(await f.call({ method: 'GET', url: '/skydns/services/never' }), 404, 'SKY_ERR_REGISTRY_NOT_FOUND');
  });

  it('PATCH heartbeat: 200 extends by the given TTL, {} by the registered one; 404 when unknown or expired; TTL bounds 400', async () => {
    await put('web1');
    f.clock.advance(20_000);
    const hb = await f.call({ method: 'PATCH', url: '/skydns/services/web1', payload: { TTL: 60 } });
    assert.equal(hb.statusCode, 200, hb.body);
    assert.equal(hb.json().TTL, 60);
    assert.equal(f.registry.get('web1')!.expiresAt, f.clock.now() + 60_000);
    const keep = await f.call({ method: 'PATCH', url: '/skydns/services/web1', payload: {} });
    assert.equal(keep.statusCode, 200);
    assert.equal(keep.json().TTL, 60, 'the TTL of the last heartbeat is the registered one now');
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/web1', payload: { TTL: 0 } }), 400, 'SKY_ERR_REGISTRY_INVALID', 'TTL');
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/web1', payload: { TTL: 86401 } }), 400, 'SKY_ERR_REGISTRY_INVALID', 'TTL');
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/web1', payload: { TTL: '60' } }), 400, 'SKY_ERR_API_BAD_REQUEST', 'TTL');
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/web1', payload: { TTL: 5, Port: 1 } }), 400, 'SKY_ERR_API_BAD_REQUEST', 'Port');
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/nope', payload: { TTL: 5 } }), 404, 'SKY_ERR_REGISTRY_NOT_FOUND');
    f.clock.advance(60_000);
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/web1', payload: { TTL: 5 } }), 404, 'SKY_ERR_REGISTRY_NOT_FOUND');
  });

  it('DELETE: 200 with the removed service, then 404', async () => {
    await put('web1');
    const res = await f.call({ method: 'DELETE', url: '/skydns/services/web1' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().UUID, 'web1');
    assert.equal(f.registry.get('web1'), undefined);
    expectError(await f.call({ method: 'DELETE', url: '/skydns/services/web1' }), 404, 'SKY_ERR_REGISTRY_NOT_FOUND');
  });

  it('GET ?query= matches DNS-style patterns, [] when none, every service without a query', async () => {
    await put('e1', body({ Region: 'east' }));
    await put('w1', body({ Region: 'west' }));
    await put('d1', body({ Name: 'db', Version: '9.6', Host: 'db.example.com', Region: 'east' }));
    await put('s1', body({ Environment: 'staging' }));
    const q = async (query?: string): Promise<string[]> => {
      const res = await f.call({ method: 'GET', url: '/skydns/services/', query: query === undefined ? {} : { query } });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as Array<{ UUID: string }>).map((s) => s.UUID);
    };
    assert.deepEqual(await q(), ['d1', 'e1', 's1', 'w1']);
    assert.deepEqual(await q('east.any.web.production'), ['e1']);
    assert.deepEqual(await q('web.production'), ['e1', 'w1']);
    assert.deepEqual(await q('*.*.WEB.production'), ['e1', 'w1'], 'case-insensitive, * means any');
    assert.deepEqual(await q('9-6.db.production'), ['d1'], 'a Version matches in its label form');
    assert.deepEqual(await q('production'), ['d1', 'e1', 'w1']);
    assert.deepEqual(await q('north.any.web.production'), []);
    assert.deepEqual(await q('w1.10-0-0-1.west.1-0-1.web.production'), ['w1'], 'all six labels');
    const bare = await f.call({ method: 'GET', url: '/skydns/services' });
    assert.equal(bare.json().length, 4, 'without the trailing slash too');
  });

  it('GET ?query= with a pattern that cannot match is 400 naming query', async () => {
    for (const query of ['a..b', 'a.b.c.d.e.f.g', 'we b.production', 'x/y']) {
      expectError(await f.call({ method: 'GET', url: '/skydns/services/', query: { query } }), 400, 'SKY_ERR_API_BAD_REQUEST', 'query');
    }
    expectError(await f.call({ method: 'GET', url: '/skydns/services/?other=1' }), 400, 'SKY_ERR_API_BAD_REQUEST', 'other');
  });

  it('GET /skydns/regions/ and /skydns/environments/ count live services by label (case-insensitively, in a registered spelling)', async () => {
    await put('a', body({ Region: 'East' }));
    await put('b', body({ Region: 'east', Environment: 'staging' }));
    await put('c', body({ Region: 'west', TTL: 1 }));
    assert.deepEqual((await f.call({ method: 'GET', url: '/skydns/regions/' })).json(), { East: 2, west: 1 });
    assert.deepEqual((await f.call({ method: 'GET', url: '/skydns/environments/' })).json(), { production: 2, staging: 1 });
    f.clock.advance(1000);
    assert.deepEqual((await f.call({ method: 'GET', url: '/skydns/regions' })).json(), { East: 2 });
    await f.call({ method: 'DELETE', url: '/skydns/services/a' });
    await f.call({ method: 'DELETE', url: '/skydns/services/b' });
    assert.deepEqual((await f.call({ method: 'GET', url: '/skydns/environments' })).json(), {});
  });
});
