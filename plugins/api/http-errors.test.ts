import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { SkyError, type ErrorCode } from '../../src/errors.js';
import type { Registry } from '../../src/registry/types.js';
import { body, expectError, fixture, type Fixture } from './api-fixture.js';
import { describeValidation, statusOf, toHttpError } from './http-errors.js';

/** A registry whose writes all fail with `err` (reads still work). */
function failingWrites(err: () => Error): (r: Registry) => Registry {
  const writes = new Set(['put', 'refresh', 'remove', 'putCallback', 'removeCallback']);
  return (r) => new Proxy(r, {
    get(target, prop, recv) {
      if (typeof prop === 'string' && writes.has(prop)) return () => Promise.reject(err());
      const v = Reflect.get(target, prop, recv);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('api: HTTP-level errors', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('a body over the limit is 413', async () => {
    f = await fixture({ bodyLimit: 1024 });
    const res = await f.call({ method: 'PUT', url: '/skydns/services/a', payload: body({ Host: `${'a'.repeat(60)}.`.repeat(20) + 'com' }) });
    const e = expectError(res, 413, 'SKY_ERR_API_BODY_TOO_LARGE');
    assert.match(e.error, /1024/);
  });

  it('a body of another media type is 415; JSON bodies sent as form data or text/plain (curl -d) are read as JSON', async () => {
    f = await fixture();
    expectError(await f.call({ method: 'PUT', url: '/skydns/services/a', headers: { 'content-type': 'application/xml' }, payload: '<service/>' }), 415, 'SKY_ERR_API_MEDIA_TYPE');
    expectError(await f.call({ method: 'PUT', url: '/skydns/services/a', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' }), 415, 'SKY_ERR_API_MEDIA_TYPE');
    const text = JSON.stringify(body());
    for (const [uuid, type] of [['f', 'application/x-www-form-urlencoded'], ['t', 'text/plain'], ['j', 'application/json; charset=utf-8']]) {
      const res = await f.call({ method: 'PUT', url: `/skydns/services/${uuid}`, headers: { 'content-type': type! }, payload: text });
      assert.equal(res.statusCode, 201, `${type}: ${res.body}`);
    }
    expectError(await f.call({ method: 'PUT', url: '/skydns/services/x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'Name=web&Port=80' }), 400, 'SKY_ERR_API_BAD_REQUEST');
  });

  it('an unknown route or method is 404 with a JSON error', async () => {
    f = await fixture();
    expectError(await f.call({ method: 'GET', url: '/skydns/nope' }), 404, 'SKY_ERR_API_ROUTE');
    expectError(await f.call({ method: 'POST', url: '/skydns/services/a', payload: body() }), 404, 'SKY_ERR_API_ROUTE');
    expectError(await f.call({ method: 'GET', url: '/' }), 404, 'SKY_ERR_API_ROUTE');
  });

  it('a registry that cannot accept writes is 503 with its message; reads keep working', async () => {
    f = await fixture({}, failingWrites(() => new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'etcd quorum lost: 1 of 3 members reachable')));
    const e = expectError(await f.call({ method: 'PUT', url: '/skydns/services/a', payload: body() }), 503, 'SKY_ERR_REGISTRY_UNAVAILABLE');
    assert.match(e.error, /quorum lost/);
    const res = await f.call({ method: 'PATCH', url: '/skydns/services/a', payload: { TTL: 5 } });
    expectError(res, 503, 'SKY_ERR_REGISTRY_UNAVAILABLE');
    assert.equal(res.headers['retry-after'], '1');
    expectError(await f.call({ method: 'DELETE', url: '/skydns/services/a' }), 503, 'SKY_ERR_REGISTRY_UNAVAILABLE');
    expectError(await f.call({ method: 'PUT', url: '/skydns/callbacks/a', payload: { Name: 'web', Reply: '127.0.0.1', Port: 1 } }), 503, 'SKY_ERR_REGISTRY_UNAVAILABLE');
    assert.equal((await f.call({ method: 'GET', url: '/skydns/services/' })).statusCode, 200);
  });

  it('a closed registry is 503; storage failures are 500 with their code; unexpected errors are 500 without details', async () => {
    f = await fixture({}, failingWrites(() => new SkyError('SKY_ERR_REGISTRY_IO', 'append to wal-000001.log failed: ENOSPC')));
    const io = expectError(await f.call({ method: 'PUT', url: '/skydns/services/a', payload: body() }), 500, 'SKY_ERR_REGISTRY_IO');
    assert.match(io.error, /ENOSPC/);
    await f.close();
    f = await fixture({}, failingWrites(() => new TypeError('secret internal detail')));
    const internal = expectError(await f.call({ method: 'PUT', url: '/skydns/services/a', payload: body() }), 500, 'SKY_ERR_API_INTERNAL');
    assert.doesNotMatch(internal.error, /secret internal detail/);
    await f.close();
    f = await fixture();
    await f.registry.close();
    expectError(await f.call({ method: 'PUT', url: '/skydns/services/a', payload: body() }), 503, 'SKY_ERR_REGISTRY_CLOSED');
  });
});

describe('http-errors mapping', () => {
  it('maps every registry and API code to its status', () => {
    const table: Array<[ErrorCode, number]> = [
      ['SKY_ERR_REGISTRY_INVALID', 400], ['SKY_ERR_REGISTRY_NOT_FOUND', 404], ['SKY_ERR_REGISTRY_EXISTS', 409],
      ['SKY_ERR_REGISTRY_IO', 500], ['SKY_ERR_REGISTRY_UNAVAILABLE', 503], ['SKY_ERR_REGISTRY_CLOSED', 503],
      ['SKY_ERR_API_BAD_REQUEST', 400], ['SKY_ERR_API_UNAUTHORIZED', 401], ['SKY_ERR_API_FORBIDDEN', 403],
      ['SKY_ERR_API_ROUTE', 404], ['SKY_ERR_API_BODY_TOO_LARGE', 413], ['SKY_ERR_API_MEDIA_TYPE', 415],
      ['SKY_ERR_API_INTERNAL', 500], ['SKY_ERR_CONFIG_INVALID', 500],
    ];
    for (const [code, status] of table) assert.equal(statusOf(code), status, code);
  });

  it('only server faults are flagged for an error log line', () => {
    assert.equal(toHttpError(new SkyError('SKY_ERR_REGISTRY_IO', 'x')).internal, true);
    assert.equal(toHttpError(new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'x')).internal, false);
    assert.equal(toHttpError(new SkyError('SKY_ERR_REGISTRY_INVALID', 'x')).internal, false);
    assert.equal(toHttpError(new Error('boom')).internal, true);
  });

  it('describes ajv errors starting with the field', () => {
    assert.deepEqual(describeValidation({ keyword: 'type', instancePath: '/Port', params: { type: 'integer' } }), { field: 'Port', message: 'Port must be of type integer' });
    assert.deepEqual(describeValidation({ keyword: 'required', instancePath: '', params: { missingProperty: 'TTL' } }), { field: 'TTL', message: 'TTL is required' });
    assert.deepEqual(describeValidation({ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'x' } }, 'querystring'), { field: 'x', message: 'unknown field "x" in the query string' });
    assert.deepEqual(describeValidation({ keyword: 'type', instancePath: '', params: { type: 'object' } }), { message: 'the body must be a JSON object' });
  });
});
