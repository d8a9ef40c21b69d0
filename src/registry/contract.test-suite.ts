/**
 * The behaviour every registry backend must show. A backend's test file calls
 * `registryContract(name, make)`; `make` returns a *started* registry reading
 * the given ManualClock, with the default TTL bounds (1–86400 s).
 * Not a test file itself (no `.test.` suffix before the extension).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { isSkyError, type ErrorCode } from '../errors.js';
import { parsePattern } from './pattern.js';
import { remainingTtl, toJSON, type Registry, type RegistryEvent, type Service } from './types.js';

export function svc(over: Partial<Service> = {}): Service {
  return { UUID: 'u1', Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 80, TTL: 30, ...over };
}

export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, path?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isSkyError(e, code), `expected ${code}, got ${(e as Error)?.message ?? e}`);
    if (path !== undefined) assert.equal(e.path, path);
    return true;
  });
}

export function registryContract(name: string, makeRegistry: (clock: ManualClock) => Promise<Registry>): void {
  describe(`registry contract: ${name}`, () => {
    let clock: ManualClock;
    let reg: Registry;
    let events: RegistryEvent[];
    beforeEach(async () => {
      clock = new ManualClock();
      reg = await makeRegistry(clock);
      events = [];
      reg.onChange((ev) => events.push(ev));
    });
    afterEach(async () => {
      await reg.close();
    });
    const kinds = (): string[] => events.map((e) => `${e.kind}:${e.service.UUID}`);

    it('is ready after start; put then get returns the stored record', async () => {
      assert.equal(reg.ready(), true);
      const s = await reg.put(svc());
      assert.equal(s.expiresAt, clock.now() + 30_000);
      assert.deepEqual(reg.get('u1'), s);
      assert.equal(reg.get('U1'), s, 'UUIDs are case-insensitive');
      assert.equal(remainingTtl(s, clock.now()), 30);
      assert.deepEqual(reg.list(), [s]);
    });

    it('refuses a second live registration with the same UUID (409)', async () => {
      await reg.put(svc());
      await rejectsWith(reg.put(svc({ Port: 81 })), 'SKY_ERR_REGISTRY_EXISTS', 'UUID');
      await rejectsWith(reg.put(svc({ UUID: 'U1' })), 'SKY_ERR_REGISTRY_EXISTS');
      const both = await Promise.allSettled([reg.put(svc({ UUID: 'c' })), reg.put(svc({ UUID: 'c' }))]);
      assert.deepEqual(both.map((r) => r.status), ['fulfilled', 'rejected'], 'concurrent puts: the first wins');
      assert.equal(reg.list().length, 2);
    });

    it('put with replace takes over a live UUID at once, announcing the old record\'s removal, then the put', async () => {
      await reg.put(svc({ Host: '10.0.0.1', TTL: 300 }));
      const s = await reg.put(svc({ UUID: 'U1', Host: '10.0.0.2', TTL: 30 }), { replace: true });
      await reg.flush();
      assert.equal(reg.get('u1'), s);
      assert.equal(s.Host, '10.0.0.2');
      assert.equal(s.expiresAt, clock.now() + 30_000);
      assert.deepEqual(events.map((e) => `${e.kind}:${e.service.Host}`), ['put:10.0.0.1', 'remove:10.0.0.1', 'put:10.0.0.2']);
      await reg.put(svc({ UUID: 'new' }), { replace: true });
      assert.equal(reg.list().length, 2, 'replace registers a UUID nobody holds as usual');
      await rejectsWith(reg.put(svc({ Port: 81 }), { replace: false }), 'SKY_ERR_REGISTRY_EXISTS', 'UUID');
    });

    it('countBy merges spellings case-insensitively under the most used one (a tie: the first in code-point order)', async () => {
      await reg.put(svc({ UUID: 'a', Environment: 'production', Region: 'east' }));
      await reg.put(svc({ UUID: 'b', Environment: 'Production', Region: 'East' }));
      await reg.put(svc({ UUID: 'c', Environment: 'Production', Region: 'west' }));
      assert.deepEqual(reg.countBy('environment'), { Production: 3 });
      assert.deepEqual(reg.countBy('region'), { East: 2, west: 1 });
    });

    it('replaces an expired record, announcing its expiry once', async () => {
      await reg.put(svc({ TTL: 5 }));
      clock.advance(5000);
      const s = await reg.put(svc({ Port: 99 }));
      await reg.flush();
      assert.equal(reg.get('u1')?.Port, 99);
      assert.equal(reg.get('u1'), s);
      assert.deepEqual(kinds(), ['put:u1', 'expire:u1', 'put:u1']);
    });

    it('rejects invalid services naming the field', async () => {
      await rejectsWith(reg.put(svc({ Port: 0 })), 'SKY_ERR_REGISTRY_INVALID', 'Port');
      await rejectsWith(reg.put(svc({ TTL: 86401 })), 'SKY_ERR_REGISTRY_INVALID', 'TTL');
      await rejectsWith(reg.put(svc({ Name: 'a.b' })), 'SKY_ERR_REGISTRY_INVALID', 'Name');
      await rejectsWith(reg.put({ ...svc(), Host: undefined } as unknown as Service), 'SKY_ERR_REGISTRY_INVALID', 'Host');
      assert.equal(reg.list().length, 0);
    });

    it('refresh extends the expiry (optionally with a new TTL)', async () => {
      await reg.put(svc({ TTL: 10 }));
      clock.advance(8000);
      const r = await reg.refresh('u1');
      assert.equal(r.expiresAt, clock.now() + 10_000);
      clock.advance(8000);
      assert.ok(reg.get('u1'), 'alive past its first TTL thanks to the refresh');
      const r2 = await reg.refresh('U1', 60);
      assert.equal(r2.TTL, 60);
      assert.equal(toJSON(r2, clock.now()).TTL, 60);
      clock.advance(59_000);
      assert.ok(reg.get('u1'));
      await rejectsWith(reg.refresh('u1', 0), 'SKY_ERR_REGISTRY_INVALID', 'TTL');
      await reg.flush();
      assert.deepEqual(kinds(), ['put:u1', 'refresh:u1', 'refresh:u1']);
    });

    it('refresh of an unknown or expired service is NOT_FOUND', async () => {
      await rejectsWith(reg.refresh('nope'), 'SKY_ERR_REGISTRY_NOT_FOUND');
      await reg.put(svc({ TTL: 10 }));
      clock.advance(10_000);
      await rejectsWith(reg.refresh('u1'), 'SKY_ERR_REGISTRY_NOT_FOUND');
    });

    it('remove returns the record; unknown or removed is NOT_FOUND', async () => {
      const s = await reg.put(svc());
      assert.deepEqual(await reg.remove('u1'), s);
      assert.equal(reg.get('u1'), undefined);
      await rejectsWith(reg.remove('u1'), 'SKY_ERR_REGISTRY_NOT_FOUND');
      await rejectsWith(reg.remove('ghost'), 'SKY_ERR_REGISTRY_NOT_FOUND');
      assert.deepEqual(kinds(), ['put:u1', 'remove:u1']);
    });

    it('queries by pattern with a wildcard at every position', async () => {
      await reg.put(svc({ UUID: 'a', Region: 'east', Host: 'h1.example.com', Version: '1.0.1' }));
      await reg.put(svc({ UUID: 'b', Region: 'west', Host: '10.0.0.2', Version: '1.0.1' }));
      await reg.put(svc({ UUID: 'c', Region: 'east', Host: '10.0.0.3', Version: '2.0.0' }));
      await reg.put(svc({ UUID: 'd', Region: 'east', Name: 'db', Environment: 'staging' }));
      const q = (pat: string): string[] => reg.query(parsePattern(pat)!).map((s) => s.UUID).sort();
      assert.deepEqual(q('web.production'), ['a', 'b', 'c']);
      assert.deepEqual(q('WEB.Production'), ['a', 'b', 'c']);
      assert.deepEqual(q('east.any.web.production'), ['a', 'c']);
      assert.deepEqual(q('1-0-1.web.production'), ['a', 'b']);
      assert.deepEqual(q('a.h1-example-com.east.1-0-1.web.production'), ['a']);
      // `any` / `*` at each of the six positions
      const full = ['a', 'h1-example-com', 'east', '1-0-1', 'web', 'production'];
      for (let i = 0; i < 6; i++) {
        const labels = [...full];
        labels[i] = i % 2 ? '*' : 'any';
        assert.deepEqual(q(labels.join('.')), ['a'], `wildcard at position ${i}`);
      }
      assert.deepEqual(q('any.any.any.any.any.any'), ['a', 'b', 'c', 'd']);
      assert.deepEqual(q('production'), ['a', 'b', 'c']);
      assert.deepEqual(q('db.any'), ['d']);
      assert.deepEqual(q('nothing.production'), []);
      assert.deepEqual(reg.query({ version: '1.0.1', name: 'web', environment: 'production' }).map((s) => s.UUID).sort(), ['a', 'b']);
      assert.deepEqual(reg.countBy('region'), { east: 3, west: 1 });
      assert.deepEqual(reg.countBy('environment'), { production: 3, staging: 1 });
    });

    it('first(): one live record matching a pattern, or none, in any case, expired ones hidden', async () => {
      await reg.put(svc({ UUID: 'a', Environment: 'Production', TTL: 10 }));
      await reg.put(svc({ UUID: 'b', Name: 'db', Environment: 'staging', TTL: 20 }));
      assert.equal(reg.first({ environment: 'production' })?.UUID, 'a');
      assert.equal(reg.first({ environment: 'PRODUCTION', name: 'web' })?.UUID, 'a');
      assert.equal(reg.first({ environment: 'staging', name: 'web' }), undefined);
      assert.equal(reg.first({ environment: 'any' }) !== undefined, true);
      assert.equal(reg.first({ name: 'db' })?.UUID, 'b');
      assert.equal(reg.first({ uuid: 'B', environment: 'staging' })?.UUID, 'b');
      assert.equal(reg.first({ environment: 'nothing' }), undefined);
      clock.advance(10_000);
      assert.equal(reg.first({ environment: 'production' }), undefined, 'expired, not yet swept');
      await reg.flush();
      assert.equal(reg.first({ environment: 'production' }), undefined);
      await reg.remove('b');
      assert.equal(reg.first({ environment: 'staging' }), undefined);
      assert.equal(reg.first({}), undefined);
    });

    it('hides expired records from every read at once, before the sweeper commits', async () => {
      await reg.put(svc({ UUID: 'x', TTL: 10 }));
      await reg.put(svc({ UUID: 'y', TTL: 20 }));
      const v = reg.version;
      clock.advance(9_999);
      assert.ok(reg.get('x'));
      clock.advance(1);
      // No await since advance(): whatever the sweeper queued has not been applied.
      assert.equal(reg.get('x'), undefined);
      assert.deepEqual(reg.list().map((s) => s.UUID), ['y']);
      assert.deepEqual(reg.query({ name: 'web', environment: 'production' }).map((s) => s.UUID), ['y']);
      assert.deepEqual(reg.countBy('region'), { east: 1 });
      await reg.flush();
      assert.deepEqual(kinds(), ['put:x', 'put:y', 'expire:x']);
      assert.equal(reg.version, v + 1);
      clock.advance(10_000);
      await reg.flush();
      assert.deepEqual(kinds(), ['put:x', 'put:y', 'expire:x', 'expire:y']);
      assert.equal(reg.list().length, 0);
    });

    it('version increments on every change', async () => {
      const v0 = reg.version;
      await reg.put(svc());
      await reg.refresh('u1');
      await reg.putCallback({ UUID: 'cb', Name: 'web', Reply: '127.0.0.1', Port: 9 });
      await reg.removeCallback('cb');
      await reg.remove('u1');
      assert.equal(reg.version, v0 + 5);
    });

    it('onChange returns a working unsubscribe', async () => {
      const seen: string[] = [];
      const off = reg.onChange((e) => seen.push(e.kind));
      await reg.put(svc());
      off();
      await reg.remove('u1');
      assert.deepEqual(seen, ['put']);
    });

    it('keeps NoExpire services until deleted', async () => {
      const s = await reg.put({ ...svc(), TTL: undefined, NoExpire: true } as unknown as Service);
      assert.equal(s.expiresAt, Infinity);
      clock.advance(400 * 86_400_000);
      await reg.flush();
      assert.ok(reg.get('u1'));
      const j = toJSON(reg.get('u1')!, clock.now());
      assert.equal(j.Expires, undefined);
      assert.equal(j.NoExpire, true);
      assert.equal((await reg.refresh('u1', 30)).expiresAt, Infinity);
      await reg.remove('u1');
      assert.equal(reg.get('u1'), undefined);
    });

    it('stores callbacks (create, replace, remove)', async () => {
      const cb = await reg.putCallback({ UUID: 'cb1', Name: 'web', Region: 'east', Reply: '127.0.0.1', Port: 5441 });
      assert.deepEqual(reg.callbacks(), [cb]);
      await reg.putCallback({ UUID: 'cb1', Name: 'web', Reply: '127.0.0.2', Port: 5441 });
      assert.equal(reg.callbacks().length, 1);
      assert.equal(reg.callbacks()[0]!.Reply, '127.0.0.2');
      assert.equal(reg.callbacks()[0]!.Region, undefined);
      await rejectsWith(reg.putCallback({ UUID: 'cb2', Name: '', Reply: '127.0.0.1', Port: 1 }), 'SKY_ERR_REGISTRY_INVALID', 'Name');
      await rejectsWith(reg.putCallback({ UUID: 'cb2', Name: 'web', Reply: '127.0.0.1', Port: 70000 }), 'SKY_ERR_REGISTRY_INVALID', 'Port');
      await reg.removeCallback('cb1');
      assert.deepEqual(reg.callbacks(), []);
      await rejectsWith(reg.removeCallback('cb1'), 'SKY_ERR_REGISTRY_NOT_FOUND');
    });

    it('refuses writes after close', async () => {
      await reg.close();
      assert.equal(reg.ready(), false);
      await rejectsWith(reg.put(svc()), 'SKY_ERR_REGISTRY_CLOSED');
      await rejectsWith(reg.remove('u1'), 'SKY_ERR_REGISTRY_CLOSED');
    });
  });
}
