import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSkyError } from '../errors.js';
import { svc } from './contract.test-suite.js';
import { DEFAULT_ORDER, isHostname, isLabel, serviceLabels, serviceName, toLabel, validateCallback, validateService, validateTtl } from './names.js';

function invalidAt(fn: () => unknown, path: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isSkyError(e, 'SKY_ERR_REGISTRY_INVALID'), String(e));
    assert.equal(e.path, path);
    assert.match(e.message, new RegExp(path === '' ? '.' : path));
    return true;
  });
}

describe('names: validation', () => {
  it('accepts a well-formed service and keeps only known fields', () => {
    const s = validateService({ ...svc({ Priority: 0, Weight: 65535 }), Extra: 'x' });
    assert.deepEqual(s, { ...svc(), Priority: 0, Weight: 65535 });
  });

  it('requires every field', () => {
    for (const f of ['UUID', 'Name', 'Version', 'Environment', 'Region', 'Host', 'Port', 'TTL']) {
      const o: Record<string, unknown> = { ...svc() };
      delete o[f];
      invalidAt(() => validateService(o), f);
    }
  });

  it('reports every missing or invalid field in one error: path is the first, problems each, the message all', () => {
    assert.throws(() => validateService({ Name: 'a.b', Host: 'bad host', Port: 0, TTL: 0, Priority: -1 }), (e: unknown) => {
      assert.ok(isSkyError(e, 'SKY_ERR_REGISTRY_INVALID'));
      assert.deepEqual(e.problems?.map((p) => p.path), ['UUID', 'Name', 'Version', 'Environment', 'Region', 'Host', 'Port', 'TTL', 'Priority']);
      assert.equal(e.path, 'UUID');
      assert.match(e.message, /^9 fields are invalid: UUID is required; Name must be a single DNS label/);
      return true;
    });
    assert.throws(() => validateService(svc({ Host: `${'h'.repeat(40)}.${'h'.repeat(40)}`, Version: `${'1'.repeat(40)}.${'2'.repeat(40)}` })), (e: unknown) =>
      isSkyError(e) && e.problems?.map((p) => p.path).join() === 'Host,Version');
    assert.throws(() => validateCallback({ Port: 0 }), (e: unknown) => isSkyError(e) && e.problems?.map((p) => p.path).join() === 'UUID,Name,Reply,Port');
    assert.throws(() => validateService(svc({ Port: 0 })), (e: unknown) => isSkyError(e) && e.path === 'Port' && e.problems === undefined, 'one problem: the plain error');
  });

  it('requires UUID, Name, Region, Environment to be single DNS labels', () => {
    for (const f of ['UUID', 'Name', 'Region', 'Environment'] as const) {
      invalidAt(() => validateService(svc({ [f]: 'a.b' })), f);
      invalidAt(() => validateService(svc({ [f]: 'sp ace' })), f);
      invalidAt(() => validateService(svc({ [f]: 'x'.repeat(64) })), f);
      invalidAt(() => validateService(svc({ [f]: 'any' })), f);
      assert.ok(validateService(svc({ [f]: 'x'.repeat(63) })));
      assert.ok(validateService(svc({ [f]: 'Under_score-1' })));
    }
    invalidAt(() => validateService({ ...svc(), Name: 5 }), 'Name');
  });

  it('checks Host: IPv4, IPv6 or a hostname whose label fits', () => {
    assert.equal(validateService(svc({ Host: '2001:db8::1' })).Host, '2001:db8::1');
    assert.equal(validateService(svc({ Host: 'web1.example.com.' })).Host, 'web1.example.com');
    invalidAt(() => validateService(svc({ Host: 'bad host' })), 'Host');
    invalidAt(() => validateService(svc({ Host: 'a..b' })), 'Host');
    invalidAt(() => validateService(svc({ Host: `${'a'.repeat(64)}.com` })), 'Host');
    // Fine as a hostname, but its label in the service name would be 70 bytes.
    invalidAt(() => validateService(svc({ Host: `${'a'.repeat(40)}.${'b'.repeat(29)}` })), 'Host');
  });

  it('checks Version characters and label length', () => {
    assert.equal(validateService(svc({ Version: '1.0.1-rc_2' })).Version, '1.0.1-rc_2');
    invalidAt(() => validateService(svc({ Version: '1/0' })), 'Version');
    invalidAt(() => validateService(svc({ Version: '1.'.repeat(32) })), 'Version');
  });

  it('checks Port, TTL bounds, Priority and Weight', () => {
    for (const Port of [0, 65536, 1.5, -1]) invalidAt(() => validateService(svc({ Port })), 'Port');
    invalidAt(() => validateService({ ...svc(), Port: '80' }), 'Port');
    assert.equal(validateService(svc({ Port: 65535 })).Port, 65535);
    invalidAt(() => validateService(svc({ TTL: 0 })), 'TTL');
    invalidAt(() => validateService(svc({ TTL: 86401 })), 'TTL');
    invalidAt(() => validateService(svc({ TTL: 2.5 })), 'TTL');
    invalidAt(() => validateService(svc({ TTL: 5 }), { ttlMin: 10, ttlMax: 20 }), 'TTL');
    invalidAt(() => validateService(svc({ TTL: 21 }), { ttlMin: 10, ttlMax: 20 }), 'TTL');
    assert.equal(validateService(svc({ TTL: 20 }), { ttlMin: 10, ttlMax: 20 }).TTL, 20);
    assert.equal(validateTtl(86400), 86400);
    invalidAt(() => validateService(svc({ Priority: 65536 })), 'Priority');
    invalidAt(() => validateService(svc({ Weight: -1 })), 'Weight');
  });

  it('lets NoExpire services omit TTL', () => {
    const s = validateService({ ...svc(), TTL: undefined, NoExpire: true });
    assert.equal(s.TTL, 0);
    assert.equal(s.NoExpire, true);
    invalidAt(() => validateService({ ...svc(), NoExpire: 'yes' }), 'NoExpire');
  });

  it('refuses a service name over 255 bytes, naming the longest field', () => {
    const long = { UUID: 'u'.repeat(63), Region: 'r'.repeat(63), Name: 'n'.repeat(63), Environment: 'e'.repeat(63) };
    invalidAt(() => validateService(svc(long)), 'UUID'); // 285 bytes under skydns.local
    assert.ok(validateService(svc({ ...long, Environment: 'e' }))); // 223 bytes
    // The zone counts too.
    invalidAt(() => validateService(svc({ ...long, Environment: 'e' }), { zone: `${'z'.repeat(40)}.example.org` }), 'UUID');
  });

  it('refuses a non-object', () => {
    invalidAt(() => validateService(null), '');
    invalidAt(() => validateService([svc()]), '');
  });

  it('validates callbacks: Name required, filters optional, wildcards dropped', () => {
    const cb = validateCallback({ UUID: 'cb', Name: 'web', Region: 'any', Version: '1.0', Reply: '10.0.0.1', Port: 5441, Junk: 1 });
    assert.deepEqual(cb, { UUID: 'cb', Name: 'web', Version: '1.0', Reply: '10.0.0.1', Port: 5441 });
    invalidAt(() => validateCallback({ UUID: 'cb', Reply: '10.0.0.1', Port: 1 }), 'Name');
    invalidAt(() => validateCallback({ UUID: 'cb', Name: 'web', Reply: 'no way', Port: 1 }), 'Reply');
    invalidAt(() => validateCallback({ UUID: 'cb', Name: 'web', Reply: '10.0.0.1', Port: 0 }), 'Port');
    invalidAt(() => validateCallback({ UUID: 'a.b', Name: 'web', Reply: '10.0.0.1', Port: 1 }), 'UUID');
  });
});

describe('names: labels', () => {
  it('recognises labels and hostnames', () => {
    assert.equal(isLabel('a-b_c'), true);
    assert.equal(isLabel(''), false);
    assert.equal(isLabel('a.b'), false);
    assert.equal(isHostname('a.b.c'), true);
    assert.equal(isHostname(`${'a'.repeat(63)}.b`), true);
    assert.equal(isHostname('a'.repeat(64)), false);
    assert.equal(isHostname(Array(130).fill('ab').join('.')), false);
  });

  it('maps a service to its six labels in the default order', () => {
    assert.deepEqual(DEFAULT_ORDER, ['uuid', 'host', 'region', 'version', 'name', 'environment']);
    const s = svc({ UUID: 'ABC', Host: '10.0.0.1', Region: 'East', Version: '1.0.1', Name: 'Web', Environment: 'Prod' });
    assert.deepEqual(serviceLabels(s), ['abc', '10-0-0-1', 'east', '1-0-1', 'web', 'prod']);
    assert.deepEqual(serviceLabels(s, ['environment', 'name', 'version', 'region', 'host', 'uuid']), ['prod', 'web', '1-0-1', 'east', '10-0-0-1', 'abc']);
    assert.equal(serviceName(s, 'skydns.local.'), 'abc.10-0-0-1.east.1-0-1.web.prod.skydns.local');
    assert.equal(toLabel('2001:DB8::1'), '2001-db8--1');
  });
});
