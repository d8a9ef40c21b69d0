/**
 * SkyDNS 1 clients unchanged (issue 14, items 5-10): the bodies its Go client
 * and its own tests send (github.com/skynetservices/skydns1: msg/service.go,
 * client/client.go, server/server_test.go), and the headers common HTTP
 * libraries add.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { body, expectError, fixture, type Fixture } from './api-fixture.js';

/** What Go's encoding/json makes of SkyDNS 1's msg.Service: every field, zero values included. */
function goService(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    UUID: '',
    Name: 'TestService',
    Version: '1.0.0',
    Environment: 'Production',
    Region: 'Test',
    Host: 'localhost',
    Port: 9000,
    TTL: 4,
    Expires: '0001-01-01T00:00:00Z',
    NoExpire: false,
    ...over,
  };
}

/** msg.Callback as Go marshals it. */
function goCallback(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { UUID: '', Name: 'TestService', Version: '', Environment: '', Region: '', Host: '', Reply: '127.0.0.1', Port: 9650, ...over };
}

describe('api: SkyDNS 1 clients', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(() => f.close());

  const put = (uuid: string, b: unknown, query = '') => f.call({ method: 'PUT', url: `/skydns/services/${uuid}${query}`, payload: b as Record<string, unknown> });

  it('PUT with the whole msg.Service (UUID "", Expires, NoExpire false) registers under the path\'s UUID; Expires is ignored', async () => {
    const res = await put('123', goService({ Expires: '2030-01-01T00:00:00Z' }));
    assert.equal(res.statusCode, 201, res.body);
    const s = f.registry.get('123')!;
    assert.equal(s.UUID, '123');
    assert.equal(s.expiresAt, f.clock.now() + 4000, 'the expiry follows the TTL, not the body\'s Expires');
    assert.equal(s.NoExpire, undefined);
    // The same document with the UUID filled in works too; a different one is still refused.
    assert.equal((await put('124', goService({ UUID: '124' }))).statusCode, 201);
    expectError(await put('125', goService({ UUID: '999' })), 400, 'SKY_ERR_REGISTRY_INVALID', 'UUID');
  });

  it('PUT of a GET answer (TTL and Expires as served) registers it again', async () => {
    await put('a', body());
    const got = (await f.call({ method: 'GET', url: '/skydns/services/a' })).json();
    assert.equal((await put('b', { ...got, UUID: '' })).statusCode, 201);
  });

  it('real unknown fields are still refused; Expires must be a string', async () => {
    expectError(await put('x', goService({ Callback: {} })), 400, 'SKY_ERR_API_BAD_REQUEST', 'Callback');
    expectError(await put('x', goService({ Expire: 'x' })), 400, 'SKY_ERR_API_BAD_REQUEST', 'Expire');
    expectError(await put('x', goService({ Expires: 5 })), 400, 'SKY_ERR_API_BAD_REQUEST', 'Expires');
    assert.equal(f.registry.list().length, 0);
  });

  it('PATCH with the whole service document updates the TTL (SkyDNS 1 TestUpdateTTL); 404 for an unknown UUID', async () => {
    await put('123', goService());
    f.clock.advance(2000);
    const res = await f.call({ method: 'PATCH', url: '/skydns/services/123', payload: goService({ UUID: '123', TTL: 25 }) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().TTL, 25);
    assert.equal(f.registry.get('123')!.expiresAt, f.clock.now() + 25_000);
    // Go's zero values and a UUID left empty are "not given".
    const zero = await f.call({ method: 'PATCH', url: '/skydns/services/123', payload: goService({ TTL: 30, Port: 0, Region: '', NoExpire: false }) });
    assert.equal(zero.statusCode, 200, zero.body);
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/54321', payload: goService({ UUID: '54321' }) }), 404, 'SKY_ERR_REGISTRY_NOT_FOUND');
  });

  it('PATCH refuses a document that would change anything but the TTL (400 naming the field), and unknown fields', async () => {
    await put('123', goService());
    const e = expectError(await f.call({ method: 'PATCH', url: '/skydns/services/123', payload: goService({ TTL: 9, Port: 9001 }) }), 400, 'SKY_ERR_API_BAD_REQUEST', 'Port');
    assert.match(e.error, /replace/);
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/123', payload: goService({ UUID: 'other' }) }), 400, 'SKY_ERR_REGISTRY_INVALID', 'UUID');
    expectError(await f.call({ method: 'PATCH', url: '/skydns/services/123', payload: { TTL: 9, Foo: 1 } }), 400, 'SKY_ERR_API_BAD_REQUEST', 'Foo');
    // Spelling differences of case-insensitive labels are not changes.
    const same = await f.call({ method: 'PATCH', url: '/skydns/services/123', payload: goService({ Environment: 'production', Host: 'LOCALHOST', TTL: 9 }) });
    assert.equal(same.statusCode, 200, same.body);
    assert.equal(f.registry.get('123')!.Port, 9000);
  });

  it('PUT /skydns/callbacks/{uuid} with the whole msg.Callback (UUID "", empty filters) is accepted', async () => {
    await put('123', goService());
    const res = await f.call({ method: 'PUT', url: '/skydns/callbacks/101', payload: goCallback() });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json(), { UUID: '101', Name: 'TestService', Reply: '127.0.0.1', Port: 9650 });
    expectError(await f.call({ method: 'PUT', url: '/skydns/callbacks/102', payload: goCallback({ UUID: '103' }) }), 400, 'SKY_ERR_REGISTRY_INVALID', 'UUID');
  });

  it('GET /skydns/environments/ and /skydns/regions/ answer the registered spelling, merged case-insensitively (SkyDNS 1 TestGetEnvironments)', async () => {
    await put('1', goService({ Environment: 'Production', Region: 'Region1' }));
    await put('2', goService({ Environment: 'production', Region: 'Region1' }));
    await put('3', goService({ Environment: 'PRODUCTION', Region: 'region2' }));
    await put('4', goService({ Environment: 'Development', Region: 'Region2' }));
    await put('5', goService({ Environment: 'production', Region: 'REGION3' }));
    // production: "production" twice, "Production" and "PRODUCTION" once each: the most used spelling wins.
    assert.equal((await f.call({ method: 'GET', url: '/skydns/environments/' })).body, '{"Development":1,"production":4}', 'keys sorted, as Go wrote them');
    // region2: one each of "region2" (registered first) and "Region2": on a tie, the first in code-point order,
    // so every node and every restart answer alike.
    assert.deepEqual((await f.call({ method: 'GET', url: '/skydns/regions/' })).json(), { Region1: 2, Region2: 2, REGION3: 1 });
    await f.call({ method: 'DELETE', url: '/skydns/services/4' });
    assert.deepEqual((await f.call({ method: 'GET', url: '/skydns/regions/' })).json(), { Region1: 2, region2: 1, REGION3: 1 });
  });

  it('DELETE, GET and PATCH with Content-Type: application/json and an empty body: an empty body is no body', async () => {
    await put('a', body());
    const json = { 'content-type': 'application/json' };
    const get = await f.call({ method: 'GET', url: '/skydns/services/a', headers: json, payload: '' });
    assert.equal(get.statusCode, 200, get.body);
    const patch = await f.call({ method: 'PATCH', url: '/skydns/services/a', headers: json, payload: '' });
    assert.equal(patch.statusCode, 200, patch.body);
    assert.equal(patch.json().TTL, 30, 'no body: the registered TTL');
    const del = await f.call({ method: 'DELETE', url: '/skydns/services/a', headers: json, payload: '' });
    assert.equal(del.statusCode, 200, del.body);
    await f.call({ method: 'PUT', url: '/skydns/callbacks/c', payload: goCallback({ Name: 'web' }) });
    assert.equal((await f.call({ method: 'DELETE', url: '/skydns/callbacks/c', headers: json, payload: '' })).statusCode, 200);
    assert.equal((await f.call({ method: 'GET', url: '/skydns/regions/', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: '' })).statusCode, 200);
    // A PUT still needs its body.
    expectError(await f.call({ method: 'PUT', url: '/skydns/services/b', headers: json, payload: '' }), 400, 'SKY_ERR_API_BAD_REQUEST');
  });
});

describe('api: taking over a live UUID (PUT ?replace=true)', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(() => f.close());
  const put = (uuid: string, b: Record<string, unknown>, query = '') => f.call({ method: 'PUT', url: `/skydns/services/${uuid}${query}`, payload: b });

  it('a plain PUT on a live UUID stays 409 (SkyDNS 1); with ?replace=true it replaces the record at once (201)', async () => {
    await put('web1', body({ Host: '10.0.0.1', TTL: 300 }));
    expectError(await put('web1', body({ Host: '10.0.0.2' })), 409, 'SKY_ERR_REGISTRY_EXISTS', 'UUID');
    expectError(await put('web1', body({ Host: '10.0.0.2' }), '?replace=false'), 409, 'SKY_ERR_REGISTRY_EXISTS', 'UUID');
    const res = await put('web1', body({ Host: '10.0.0.2', TTL: 30 }), '?replace=true');
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(f.registry.get('web1')!.Host, '10.0.0.2');
    assert.equal(f.registry.get('web1')!.expiresAt, f.clock.now() + 30_000);
    // Also when nothing is registered under the UUID.
    assert.equal((await put('fresh', body(), '?replace=true')).statusCode, 201);
  });

  it('the old record\'s removal is announced before the new registration (callbacks and watchers see it)', async () => {
    await put('web1', body({ Host: '10.0.0.1' }));
    const seen: string[] = [];
    f.registry.onChange((ev) => seen.push(`${ev.kind} ${ev.service.Host}`));
    await put('web1', body({ Host: '10.0.0.2' }), '?replace=true');
    assert.deepEqual(seen, ['remove 10.0.0.1', 'put 10.0.0.2']);
  });

  it('replace takes "true" or "false" only', async () => {
    expectError(await put('web1', body(), '?replace=yes'), 400, 'SKY_ERR_API_BAD_REQUEST', 'replace');
    expectError(await put('web1', body(), '?other=1'), 400, 'SKY_ERR_API_BAD_REQUEST', 'other');
  });
});
