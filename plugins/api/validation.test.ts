import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { body, expectError, fixture, type Fixture } from './api-fixture.js';

/**
 * Every validation rule of a registration, as [case, uuid in the path, body,
 * expected code, expected field]. Value rules come from the registry
 * (SKY_ERR_REGISTRY_INVALID); shape rules from the route schema
 * (SKY_ERR_API_BAD_REQUEST). Both are 400 and name the field.
 */
const long = (n: number): string => 'x'.repeat(n);
const INVALID = 'SKY_ERR_REGISTRY_INVALID';
const SHAPE = 'SKY_ERR_API_BAD_REQUEST';
const cases: Array<[string, string, Record<string, unknown>, string, string]> = [
  ['Host missing', 'v1', body({ Host: undefined }), INVALID, 'Host'],
  ['Host empty', 'v1', body({ Host: '' }), INVALID, 'Host'],
  ['Host not a name or address', 'v1', body({ Host: 'bad host' }), INVALID, 'Host'],
  ['Host with a label over 63 bytes', 'v1', body({ Host: `${long(64)}.example.com` }), INVALID, 'Host'],
  ['Host null', 'v1', body({ Host: null }), SHAPE, 'Host'],
  ['Port missing', 'v1', body({ Port: undefined }), INVALID, 'Port'],
  ['Port 0', 'v1', body({ Port: 0 }), INVALID, 'Port'],
  ['Port 65536', 'v1', body({ Port: 65536 }), INVALID, 'Port'],
  ['Port negative', 'v1', body({ Port: -1 }), INVALID, 'Port'],
  ['Port fractional', 'v1', body({ Port: 80.5 }), SHAPE, 'Port'],
  ['Port as a string', 'v1', body({ Port: '80' }), SHAPE, 'Port'],
  ['TTL missing', 'v1', body({ TTL: undefined }), INVALID, 'TTL'],
  ['TTL under the minimum', 'v1', body({ TTL: 0 }), INVALID, 'TTL'],
  ['TTL over the maximum', 'v1', body({ TTL: 86401 }), INVALID, 'TTL'],
  ['Name missing', 'v1', body({ Name: undefined }), INVALID, 'Name'],
  ['Name with a dot', 'v1', body({ Name: 'web.api' }), INVALID, 'Name'],
  ['Name over 63 bytes', 'v1', body({ Name: long(64) }), INVALID, 'Name'],
  ['Name "any" (a wildcard)', 'v1', body({ Name: 'any' }), INVALID, 'Name'],
  ['Name not a string', 'v1', body({ Name: 5 }), SHAPE, 'Name'],
  ['Region with a dot', 'v1', body({ Region: 'us.east' }), INVALID, 'Region'],
  ['Region missing', 'v1', body({ Region: undefined }), INVALID, 'Region'],
  ['Environment with a dot', 'v1', body({ Environment: 'prod.eu' }), INVALID, 'Environment'],
  ['Environment over 63 bytes', 'v1', body({ Environment: long(64) }), INVALID, 'Environment'],
  ['Version missing', 'v1', body({ Version: undefined }), INVALID, 'Version'],
  ['Version with a space', 'v1', body({ Version: '1 0' }), INVALID, 'Version'],
  ['Version over 63 bytes as a label', 'v1', body({ Version: `1.${long(62)}` }), INVALID, 'Version'],
  ['UUID with a dot (path)', 'a.b', body(), INVALID, 'UUID'],
  ['UUID over 63 bytes (path)', long(64), body(), INVALID, 'UUID'],
  ['UUID over 63 bytes (body and path)', long(64), body({ UUID: long(64) }), INVALID, 'UUID'],
  ['UUID with a space (path)', 'a%20b', body(), INVALID, 'UUID'],
  ['name over 255 bytes in all', 'v1', body({ Region: long(63), Version: long(63), Name: long(63), Environment: long(63) }), INVALID, 'Region'],
  ['Priority negative', 'v1', body({ Priority: -1 }), INVALID, 'Priority'],
  ['Weight over 65535', 'v1', body({ Weight: 65536 }), INVALID, 'Weight'],
  ['NoExpire not a boolean', 'v1', body({ NoExpire: 'yes' }), SHAPE, 'NoExpire'],
  ['an unknown field', 'v1', body({ Foo: 1 }), SHAPE, 'Foo'],
  ['an unknown field in another case that clashes', 'v1', body({ port: 81 }), SHAPE, 'port'],
];

describe('api: every validation rule of PUT /skydns/services/{uuid} is a 400 naming the field', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });
  after(() => f.close());

  for (const [name, uuid, b, code, field] of cases) {
    it(name, async () => {
      const res = await f.call({ method: 'PUT', url: `/skydns/services/${uuid}`, payload: b });
      const e = expectError(res, 400, code, field);
      assert.ok(e.error.includes(field), `the message names ${field}: ${e.error}`);
      assert.equal(f.registry.list().length, 0, 'nothing was stored');
    });
  }

  it('the boundaries themselves are accepted (Port 1 and 65535, TTL 1 and 86400, 63-byte labels)', async () => {
    const ok = [
      body({ Port: 1, TTL: 1 }),
      body({ Port: 65535, TTL: 86400 }),
      body({ Name: long(63) }),
      body({ Host: `${long(63)}` }),
      body({ Host: '2001:db8::1' }),
    ];
    for (const [i, b] of ok.entries()) {
      const res = await f.call({ method: 'PUT', url: `/skydns/services/ok${i}`, payload: b });
      assert.equal(res.statusCode, 201, res.body);
    }
    const uuid = long(63);
    assert.equal((await f.call({ method: 'PUT', url: `/skydns/services/${uuid}`, payload: body() })).statusCode, 201);
  });

  it('every missing or invalid value is in one 400: the message lists them all, `fields` names each, `field` the first', async () => {
    const res = await f.call({ method: 'PUT', url: '/skydns/services/v1', payload: { Name: 'api', Host: '192.0.2.20', Port: 0, TTL: 300 } });
    const e = expectError(res, 400, INVALID, 'Version') as { error: string; fields?: Array<{ field: string; error: string }> };
    assert.deepEqual(e.fields?.map((x) => x.field), ['Version', 'Environment', 'Region', 'Port']);
    for (const x of e.fields!) assert.ok(e.error.includes(x.error), `${e.error} lists ${x.error}`);
    assert.match(e.error, /^4 fields are invalid: Version is required; Environment is required; Region is required; Port must be/);
    assert.equal(f.registry.get('v1'), undefined);
  });

  it('every shape problem is in one 400 too (wrong types, unknown fields)', async () => {
    const res = await f.call({ method: 'PUT', url: '/skydns/services/v1', payload: body({ Port: '80', TTL: '30', Foo: 1 }) });
    const e = expectError(res, 400, SHAPE) as { error: string; fields?: Array<{ field: string }> };
    assert.deepEqual(e.fields?.map((x) => x.field).sort(), ['Foo', 'Port', 'TTL']);
    assert.match(e.error, /^3 problems in the body: /);
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    const m = expectError(await f.call({ method: 'PUT', url: '/skydns/services/v1', payload: body(many) }), 400, SHAPE, 'k0') as { error: string; fields?: unknown[] };
    assert.equal(m.fields?.length, 20, 'the first 20 are listed');
    assert.match(m.error, /^500 problems in the body: .*; and 480 more$/);
  });

  it('shape and value problems together are one 400 too (the fields the schema flagged are not reported twice)', async () => {
    const res = await f.call({ method: 'PUT', url: '/skydns/services/v1', payload: { Name: 'api', Host: '192.0.2.20', Port: '9000', TTL: 300, Colour: 'red' } });
    const e = expectError(res, 400, SHAPE) as { error: string; field?: string; fields?: Array<{ field: string; error: string }> };
    assert.deepEqual(e.fields?.map((x) => x.field).sort(), ['Colour', 'Environment', 'Port', 'Region', 'Version']);
    assert.match(e.error, /^5 problems in the body: /);
    assert.ok(!/Port is required/.test(e.error), e.error);
    assert.equal(f.registry.get('v1'), undefined);
    // A shape problem alone keeps its own message.
    const one = expectError(await f.call({ method: 'PUT', url: '/skydns/services/v1', payload: body({ Port: '80' }) }), 400, SHAPE, 'Port');
    assert.equal(one.error, 'Port must be of type integer');
    // And callbacks alike.
    const cb = expectError(await f.call({ method: 'PUT', url: '/skydns/callbacks/c1', payload: { Port: '1', Reply: 'bad host' } }), 400, SHAPE) as { fields?: Array<{ field: string }> };
    assert.deepEqual(cb.fields?.map((x) => x.field).sort(), ['Name', 'Port', 'Reply']);
  });

  it('bodies that are not a JSON object are 400', async () => {
    for (const payload of ['[]', '"x"', '42', 'null', '{"Name":', '']) {
      const res = await f.call({ method: 'PUT', url: '/skydns/services/v1', headers: { 'content-type': 'application/json' }, payload });
      expectError(res, 400, SHAPE);
    }
    const proto = await f.call({ method: 'PUT', url: '/skydns/services/v1', headers: { 'content-type': 'application/json' }, payload: '{"__proto__":{"x":1}}' });
    expectError(proto, 400, SHAPE);
  });
});
