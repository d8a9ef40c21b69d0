import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { expectError, fixture, type Fixture } from './api-fixture.js';

const cb = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ Name: 'web', Reply: '127.0.0.1', Port: 5441, ...over });

describe('api: callback routes', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });
  const put = (fx: Fixture, uuid: string, b: Record<string, unknown>) => fx.call({ method: 'PUT', url: `/skydns/callbacks/${uuid}`, payload: b });

  it('PUT registers a callback (201), a second PUT replaces it (200); DELETE removes it (200), then 404', async () => {
    f = await fixture();
    const first = await put(f, 'cb1', cb({ Environment: 'production', Region: 'any' }));
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers.location, '/skydns/callbacks/cb1');
    assert.deepEqual(first.json(), { UUID: 'cb1', Name: 'web', Environment: 'production', Reply: '127.0.0.1', Port: 5441 }, '"any" is stored as no filter');
    const again = await put(f, 'cb1', cb({ Port: 5442 }));
    assert.equal(again.statusCode, 200);
    assert.deepEqual(f.registry.callbacks().map((c) => c.Port), [5442]);
    const del = await f.call({ method: 'DELETE', url: '/skydns/callbacks/cb1' });
    assert.equal(del.statusCode, 200);
    assert.equal(del.json().Port, 5442);
    expectError(await f.call({ method: 'DELETE', url: '/skydns/callbacks/cb1' }), 404, 'SKY_ERR_REGISTRY_NOT_FOUND');
    assert.equal(f.registry.callbacks().length, 0);
  });

  it('validates the callback naming the field', async () => {
    f = await fixture();
    expectError(await put(f, 'c', cb({ Name: undefined })), 400, 'SKY_ERR_REGISTRY_INVALID', 'Name');
    expectError(await put(f, 'c', cb({ Reply: undefined })), 400, 'SKY_ERR_REGISTRY_INVALID', 'Reply');
    expectError(await put(f, 'c', cb({ Reply: 'not a host' })), 400, 'SKY_ERR_REGISTRY_INVALID', 'Reply');
    expectError(await put(f, 'c', cb({ Port: 0 })), 400, 'SKY_ERR_REGISTRY_INVALID', 'Port');
    expectError(await put(f, 'c', cb({ Port: '80' })), 400, 'SKY_ERR_API_BAD_REQUEST', 'Port');
    expectError(await put(f, 'c', cb({ UUID: 'other' })), 400, 'SKY_ERR_REGISTRY_INVALID', 'UUID');
    expectError(await put(f, 'c.d', cb()), 400, 'SKY_ERR_REGISTRY_INVALID', 'UUID');
    expectError(await put(f, 'c', cb({ Extra: true })), 400, 'SKY_ERR_API_BAD_REQUEST', 'Extra');
    assert.equal(f.registry.callbacks().length, 0);
  });

  it('with allowNetworks: an address outside is 403, a hostname is 400, an address inside is accepted', async () => {
    f = await fixture({ allowNetworks: ['127.0.0.0/8', '::1/128'] });
    const out = expectError(await put(f, 'c', cb({ Reply: '10.1.2.3' })), 403, 'SKY_ERR_API_FORBIDDEN', 'Reply');
    assert.match(out.error, /10\.1\.2\.3/);
    expectError(await put(f, 'c', cb({ Reply: '::2' })), 403, 'SKY_ERR_API_FORBIDDEN', 'Reply');
    expectError(await put(f, 'c', cb({ Reply: 'receiver.example.com' })), 400, 'SKY_ERR_REGISTRY_INVALID', 'Reply');
    assert.equal(f.registry.callbacks().length, 0);
    assert.equal((await put(f, 'c', cb({ Reply: '127.0.0.9' }))).statusCode, 201);
    assert.equal((await put(f, 'd', cb({ Reply: '::1' }))).statusCode, 201);
  });

  it('without allowNetworks a hostname Reply is fine', async () => {
    f = await fixture();
    assert.equal((await put(f, 'c', cb({ Reply: 'receiver.example.com' }))).statusCode, 201);
  });
});
