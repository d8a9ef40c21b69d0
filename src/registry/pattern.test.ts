import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { svc } from './contract.test-suite.js';
import { MemoryIndex } from './memory-index.js';
import type { FieldName, StoredService } from './types.js';
import { compilePattern, matches, matchesLabels, normalizePattern, parsePattern } from './pattern.js';
import { labelsOf } from './names.js';

describe('pattern: parsePattern', () => {
  it('aligns the rightmost label with environment, then name, version, region, host, uuid', () => {
    assert.deepEqual(parsePattern('production'), { environment: 'production' });
    assert.deepEqual(parsePattern('web.production'), { name: 'web', environment: 'production' });
    assert.deepEqual(parsePattern('east.any.web.production'), { region: 'east', name: 'web', environment: 'production' });
    assert.deepEqual(parsePattern('u1.host.east.1-0.web.production'), {
      uuid: 'u1', host: 'host', region: 'east', version: '1-0', name: 'web', environment: 'production',
    });
  });

  it('treats any and * as wildcards, is case-insensitive, ignores a trailing dot', () => {
    assert.deepEqual(parsePattern('EAST.*.Web.ANY.'), { region: 'east', name: 'web' });
    assert.deepEqual(parsePattern(''), {});
    assert.deepEqual(parsePattern('any.any'), {});
  });

  it('returns null for more labels than the order has, or an empty label', () => {
    assert.equal(parsePattern('a.b.c.d.e.f.g'), null);
    assert.equal(parsePattern('a..b'), null);
  });

  it('follows a custom order', () => {
    const order: FieldName[] = ['environment', 'name', 'version', 'region', 'host', 'uuid'];
    assert.deepEqual(parsePattern('h.u', order), { host: 'h', uuid: 'u' });
    assert.deepEqual(parsePattern('production.web.v1.east.h.u', order), {
      environment: 'production', name: 'web', version: 'v1', region: 'east', host: 'h', uuid: 'u',
    });
    assert.equal(parsePattern('a.b', ['name']), null);
  });
});

describe('pattern: matches', () => {
  const s = svc({ UUID: 'U1', Host: '10.0.0.1', Region: 'East', Version: '1.0.1' });
  it('compares labels case-insensitively, with dots in Host/Version as dashes', () => {
    assert.equal(matches({}, s), true);
    assert.equal(matches({ region: 'EAST', uuid: 'u1' }, s), true);
    assert.equal(matches({ version: '1-0-1', host: '10-0-0-1' }, s), true);
    assert.equal(matches({ version: '1.0.1', host: '10.0.0.1' }, s), true);
    assert.equal(matches({ region: 'west' }, s), false);
    assert.equal(matches({ name: 'any', environment: '*' }, s), true);
  });
  it('normalizes patterns', () => {
    assert.deepEqual(normalizePattern({ version: '1.0', region: 'any', name: 'Web', host: '' }), { version: '1-0', name: 'web' });
  });
});

describe('pattern: compilePattern', () => {
  const s = svc({ UUID: 'U1', Host: '10.0.0.1', Region: 'East', Version: '1.0.1' });
  it('normalises once and agrees with matches', () => {
    const patterns = [{}, { region: 'EAST', uuid: 'u1' }, { version: '1.0.1', host: '10-0-0-1' }, { region: 'west' }, { name: 'any', environment: '*', host: '' }, { name: 'Web', environment: 'production' }, { name: 'web', environment: 'staging' }];
    for (const p of patterns) assert.equal(matchesLabels(compilePattern(p), labelsOf(s)), matches(p, s), JSON.stringify(p));
    assert.deepEqual(compilePattern({ uuid: 'U1', name: 'Web', environment: 'PROD', region: 'any', version: '1.0' }), {
      fields: ['uuid', 'name', 'environment', 'version'], values: ['u1', 'web', 'prod', '1-0'], uuid: 'u1', name: 'web', environment: 'prod',
    });
  });
  it('leaves the bucket fields out of the comparison with skipBucket', () => {
    const c = compilePattern({ name: 'other', environment: 'elsewhere', region: 'east' }, true);
    assert.deepEqual(c.fields, ['region']);
    assert.equal(c.name, 'other');
    assert.equal(matchesLabels(c, labelsOf(s)), true, 'only the region is compared');
  });
});

describe('memory index', () => {
  const at = (over: Parameters<typeof svc>[0], expiresAt: number): StoredService => Object.freeze({ ...svc(over), expiresAt });
  it('answers queries through the (environment, name) index and by scan alike', () => {
    const ix = new MemoryIndex();
    ix.set(at({ UUID: 'a' }, 100));
    ix.set(at({ UUID: 'b', Region: 'west' }, 100));
    ix.set(at({ UUID: 'c', Name: 'db' }, 100));
    ix.set(at({ UUID: 'd' }, 10)); // expired at now=50
    const ids = (r: StoredService[]): string[] => r.map((x) => x.UUID).sort();
    assert.deepEqual(ids(ix.query({ name: 'WEB', environment: 'production' }, 50)), ['a', 'b']);
    assert.deepEqual(ids(ix.query({ name: 'web', environment: 'production', region: 'west' }, 50)), ['b']);
    assert.deepEqual(ids(ix.query({ region: 'east' }, 50)), ['a', 'c']);
    assert.deepEqual(ids(ix.query({ uuid: 'C' }, 50)), ['c']);
    assert.deepEqual(ix.query({ name: 'nope', environment: 'production' }, 50), []);
    // Moving a record to another (environment, name) updates the secondary index.
    ix.set(at({ UUID: 'a', Name: 'db' }, 100));
    assert.deepEqual(ids(ix.query({ name: 'web', environment: 'production' }, 50)), ['b']);
    assert.deepEqual(ix.countBy('region', 50), { east: 2, west: 1 });
    ix.delete('B');
    assert.deepEqual(ix.countBy('region', 50), { east: 2 });
    assert.deepEqual([...ix.all()].map((x) => x.UUID).sort(), ['a', 'c', 'd']);
  });

  it('keeps the expiry order past the heap\'s first allocation, across refreshes', () => {
    const ix = new MemoryIndex();
    const n = 3000;
    // A fixed permutation of expiry times, then every record refreshed to a later time.
    for (let i = 0; i < n; i++) ix.set(at({ UUID: `r${i}` }, 1000 + ((i * 7919) % n)));
    for (let i = 0; i < n; i += 2) ix.set(at({ UUID: `r${i}` }, 10_000 + ((i * 7919) % n)));
    const first = ix.takeDue(9_999);
    assert.equal(first.length, n / 2, 'only the records not refreshed are due');
    const times = first.map((s) => s.expiresAt);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    const rest = ix.takeDue(20_000).map((s) => s.expiresAt);
    assert.equal(rest.length, n / 2);
    assert.deepEqual(rest, [...rest].sort((a, b) => a - b));
    assert.equal(ix.nextExpiry(), undefined);
  });

  it('updates a record whose labels did not change in place, and moves one whose labels did', () => {
    const ix = new MemoryIndex();
    ix.set(at({ UUID: 'a' }, 100));
    ix.set(at({ UUID: 'a', Port: 81 }, 200)); // a heartbeat-like replacement
    assert.equal(ix.size, 1);
    assert.equal(ix.query({ name: 'web', environment: 'production' }, 150)[0]?.Port, 81);
    ix.set(at({ UUID: 'a', Region: 'west' }, 200));
    assert.deepEqual(ix.query({ region: 'east' }, 150), []);
    assert.equal(ix.query({ name: 'web', environment: 'production', region: 'west' }, 150).length, 1);
    assert.deepEqual(ix.countBy('region', 150), { west: 1 });
  });

  it('compares the labels stored at insertion, not the record each query', () => {
    const ix = new MemoryIndex();
    // A record that is not frozen: labelsOf would not cache it, so a per-query
    // label computation would see the mutation below; the stored labels do not.
    const loose = { ...svc({ UUID: 'm', Region: 'east' }), expiresAt: 100 } as StoredService;
    ix.set(loose);
    (loose as { Region: string }).Region = 'west';
    assert.deepEqual(ix.query({ name: 'web', environment: 'production', region: 'east' }, 50).map((x) => x.UUID), ['m']);
    assert.deepEqual(ix.query({ region: 'east' }, 50).map((x) => x.UUID), ['m']);
    assert.deepEqual(ix.query({ uuid: 'M', region: 'east' }, 50).map((x) => x.UUID), ['m']);
    assert.deepEqual(ix.query({ region: 'west' }, 50), []);
  });

  it('hands out due records in expiry order, skipping stale heap entries', () => {
    const ix = new MemoryIndex();
    ix.set(at({ UUID: 'x' }, 30));
    ix.set(at({ UUID: 'y' }, 10));
    ix.set(at({ UUID: 'x' }, 50)); // refreshed: the entry at 30 is stale
    ix.set(at({ UUID: 'z' }, Infinity));
    assert.equal(ix.nextExpiry(), 10);
    assert.deepEqual(ix.takeDue(40).map((s) => s.UUID), ['y']);
    assert.equal(ix.get('y', 40), undefined);
    assert.equal(ix.getRaw('y')?.UUID, 'y', 'still indexed until the backend deletes it');
    assert.deepEqual(ix.takeDue(60).map((s) => s.UUID), ['x']);
    assert.equal(ix.nextExpiry(), undefined);
    assert.deepEqual(ix.list(1e15).map((s) => s.UUID), ['z'], 'NoExpire outlives everything');
  });
});
