import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { body, expectError, fixture, type Fixture } from './api-fixture.js';
import { secretChecker } from '../../src/http/secret.js';

describe('api: shared secret', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({ secret: 's3cret' });
  });
  after(() => f.close());

  const routes: Array<[string, string, unknown?]> = [
    ['PUT', '/skydns/services/a', body()],
    ['PATCH', '/skydns/services/a', { TTL: 5 }],
    ['GET', '/skydns/services/a'],
    ['DELETE', '/skydns/services/a'],
    ['GET', '/skydns/services/?query=production'],
    ['GET', '/skydns/regions/'],
    ['GET', '/skydns/environments/'],
    ['PUT', '/skydns/callbacks/c', { Name: 'web', Reply: '127.0.0.1', Port: 9 }],
    ['DELETE', '/skydns/callbacks/c'],
    ['GET', '/skydns/nothing-here'],
  ];

  it('every route answers 401 without the header, with a wrong secret, or with a prefix of it', async () => {
    for (const [method, url, payload] of routes) {
      for (const authorization of [undefined, 'wrong', 'Bearer wrong', 's3cre', 's3cret2', 'Bearer', 'Basic s3cret']) {
        const headers = authorization === undefined ? {} : { authorization };
        const res = await f.call({ method: method as 'GET', url, headers, ...(payload ? { payload: payload as object } : {}) });
        expectError(res, 401, 'SKY_ERR_API_UNAUTHORIZED');
        assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      }
    }
    assert.equal(f.registry.list().length, 0, 'no unauthenticated write got through');
    assert.equal(f.registry.callbacks().length, 0);
  });

  it('accepts "Authorization: <secret>" (SkyDNS 1) and "Authorization: Bearer <secret>"', async () => {
    const put = await f.call({ method: 'PUT', url: '/skydns/services/a', headers: { authorization: 's3cret' }, payload: body() });
    assert.equal(put.statusCode, 201);
    const get = await f.call({ method: 'GET', url: '/skydns/services/a', headers: { authorization: 'Bearer s3cret' } });
    assert.equal(get.statusCode, 200);
    const lower = await f.call({ method: 'GET', url: '/skydns/services/a', headers: { authorization: 'bearer s3cret' } });
    assert.equal(lower.statusCode, 200, 'the scheme is case-insensitive');
  });

  it('checks the secret before reading the body (an unauthenticated oversized body is 401, not 413)', async () => {
    const res = await f.call({ method: 'PUT', url: '/skydns/services/a', payload: 'x'.repeat(200_000), headers: { 'content-type': 'application/json' } });
    expectError(res, 401, 'SKY_ERR_API_UNAUTHORIZED');
  });
});

describe('secretChecker', () => {
  it('without a secret everything passes', () => {
    assert.equal(secretChecker(undefined)(undefined), true);
  });
  it('compares whole values in both forms', () => {
    const ok = secretChecker('tok');
    assert.equal(ok('tok'), true);
    assert.equal(ok('Bearer tok'), true);
    assert.equal(ok('BEARER   tok'), true);
    assert.equal(ok('Bearer tok '), false);
    assert.equal(ok('tok '), false);
    assert.equal(ok(''), false);
    assert.equal(ok(undefined), false);
  });
  it('a secret that itself starts with "Bearer " works when sent raw or with the scheme', () => {
    const ok = secretChecker('Bearer x');
    assert.equal(ok('Bearer x'), true);
    assert.equal(ok('Bearer Bearer x'), true);
    assert.equal(ok('x'), false);
  });
});
