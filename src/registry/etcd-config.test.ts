/**
 * The etcd backend's pieces that need no etcd: the Skyfile keys, the factory,
 * the key layout and value codec, error wording, deadlines and the key lock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { ManualClock } from '../clock.js';
import { isSkyError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { svc } from './contract.test-suite.js';
import { createRegistry, registrySchema } from './create.js';
import { DeadlineError, loadEtcd, unavailable, withDeadline } from './etcd-client.js';
import { decodeService, encodeService, keyLayout, serviceKey } from './etcd-codec.js';
import { KeyedLock } from './etcd-txn.js';
import { EtcdRegistry } from './etcd.js';

const base = mkdtempSync(join(tmpdir(), 'skydns-etcd-config-'));
after(() => rmSync(base, { recursive: true, force: true }));
const ctx = { clock: new ManualClock(), logger: silentLogger, baseDir: base };

describe('etcd registry config', () => {
  const validate = new Ajv({ useDefaults: true, strict: false }).compile(registrySchema);

  it('accepts the etcd keys and adds no defaults of its own', () => {
    const cfg: Record<string, unknown> = { backend: 'etcd', endpoints: ['127.0.0.1:2379', 'https://10.0.0.2:2379'], prefix: '/skydns', tls: { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' }, auth: { username: 'sky', password: 'pw' }, dialTimeoutMs: 100, callTimeoutMs: 200 };
    assert.equal(validate(cfg), true, JSON.stringify(validate.errors));
    const plain: Record<string, unknown> = { backend: 'etcd' };
    assert.equal(validate(plain), true);
    assert.equal(plain.endpoints, undefined, 'the factory applies etcd defaults, not the schema');
    for (const bad of [{ endpoints: [] }, { endpoints: [''] }, { prefix: '/' }, { prefix: '' }, { tls: { cert: 'c.pem' } }, { tls: { ca: 'a', extra: 1 } }, { auth: { username: 'u' } }, { callTimeoutMs: 0 }, { dialTimeoutMs: 1.5 }]) {
      assert.equal(validate({ backend: 'etcd', ...bad }), false, JSON.stringify(bad));
    }
  });

  it('creates the etcd backend, resolving TLS files against the Skyfile directory', () => {
    assert.ok(createRegistry({ backend: 'etcd', endpoints: ['127.0.0.1:1'] }, ctx) instanceof EtcdRegistry);
    assert.ok(createRegistry({ backend: 'etcd' }, ctx) instanceof EtcdRegistry, 'default endpoint 127.0.0.1:2379');
    writeFileSync(join(base, 'ca.pem'), 'not really a CA');
    assert.ok(createRegistry({ backend: 'etcd', tls: { ca: 'ca.pem' } }, ctx) instanceof EtcdRegistry);
    assert.throws(() => createRegistry({ backend: 'etcd', tls: { ca: 'missing.pem' } }, ctx), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID') && e.path === 'registry.tls.ca');
    assert.throws(() => createRegistry({ backend: 'etcd', tls: { ca: 'ca.pem', cert: 'ca.pem' } }, ctx), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID') && e.path === 'registry.tls');
    assert.throws(() => new EtcdRegistry({ endpoints: [], clock: ctx.clock, logger: silentLogger }), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
  });

  it('refuses writes before start and after close', async () => {
    const r = new EtcdRegistry({ endpoints: ['127.0.0.1:1'], clock: ctx.clock, logger: silentLogger });
    assert.equal(r.ready(), false);
    await assert.rejects(r.put(svc()), (e) => isSkyError(e, 'SKY_ERR_REGISTRY_UNAVAILABLE'));
    await assert.rejects(r.put(svc({ Port: 0 })), (e) => isSkyError(e, 'SKY_ERR_REGISTRY_INVALID'), 'validation first');
    await r.close();
    await assert.rejects(r.remove('u1'), (e) => isSkyError(e, 'SKY_ERR_REGISTRY_CLOSED'));
    assert.deepEqual(r.list(), []);
  });
});

describe('etcd key layout and values', () => {
  it('normalises the prefix and lowercases UUIDs in keys', () => {
    for (const p of ['/skydns', 'skydns', '/skydns/', 'skydns//']) assert.equal(keyLayout(p).services, '/skydns/services/');
    const k = keyLayout('/a/b');
    assert.deepEqual([k.root, k.callbacks, k.election], ['/a/b', '/a/b/callbacks/', '/a/b/election/callbacks/']);
    assert.equal(serviceKey(k, 'WEB1'), '/a/b/services/web1');
  });

  it('round-trips services (NoExpire as null) and refuses what is not one', () => {
    const rec = Object.freeze({ ...svc({ Priority: 5 }), expiresAt: 1234 });
    assert.deepEqual(decodeService(encodeService(rec, 'g1')), { rec, gen: 'g1' });
    const forever = Object.freeze({ ...svc(), NoExpire: true, expiresAt: Infinity });
    const raw = encodeService(forever, 'g2');
    assert.match(raw, /"expiresAt":null/);
    assert.deepEqual(decodeService(raw), { rec: forever, gen: 'g2' });
    for (const bad of ['nope', '{}', JSON.stringify({ service: svc(), expiresAt: null, gen: 'g' }), JSON.stringify({ service: svc(), expiresAt: 5 }), JSON.stringify({ service: { ...svc(), Port: 0 }, expiresAt: 5, gen: 'g' })]) {
      assert.equal(decodeService(bad), undefined, bad);
    }
  });
});

describe('etcd errors, deadlines, ordering', () => {
  const conn = { endpoints: ['127.0.0.1:2379', '127.0.0.1:2479'], callTimeoutMs: 3000 };

  it('says what the probes know about a transient failure, "no quorum" for a commit that did not come, and what else went wrong otherwise', async () => {
    await loadEtcd();
    const late = unavailable(new DeadlineError(3000), 'register u1', conn);
    assert.equal(late.code, 'SKY_ERR_REGISTRY_UNAVAILABLE');
    assert.match(late.message, /no quorum: etcd did not commit "register u1" within 3000 ms/);
    const refused = unavailable(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED'), 'register u1', conn);
    assert.match(refused.message, /^etcd did not answer this node's request to register u1 \(14 UNAVAILABLE/);
    assert.doesNotMatch(refused.message, /2479/, 'no member is called unreachable without a probe saying so');
    const probed = { ...conn, explain: () => 'this node cannot reach etcd: tried 127.0.0.1:2379 (no answer within 1000 ms)' };
    assert.equal(unavailable(new DeadlineError(3000), 'register u1', probed).message, 'this node cannot reach etcd: tried 127.0.0.1:2379 (no answer within 1000 ms); could not register u1');
    assert.match(unavailable(new Error('etcdserver: permission denied'), 'x', probed).message, /^etcd failed to x/, 'only transient failures take the probes\' word');
    assert.match(unavailable(new Error('etcdserver: request timed out'), 'x', conn).message, /no quorum/);
    assert.match(unavailable(new Error('etcdserver: permission denied'), 'x', conn).message, /^etcd failed to x: etcdserver: permission denied/);
  });

  it('withDeadline rejects late promises and passes settled ones through', async () => {
    await assert.rejects(withDeadline(new Promise(() => undefined), 10, () => new DeadlineError(10)), DeadlineError);
    assert.equal(await withDeadline(Promise.resolve(7), 1000, () => new DeadlineError(1000)), 7);
  });

  it('KeyedLock runs one key in order, other keys independently, past failures', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a1 = lock.run('a', async () => {
      await gate;
      order.push('a1');
      throw new Error('a1 fails');
    });
    const a2 = lock.run('a', async () => void order.push('a2'));
    await lock.run('b', async () => void order.push('b'));
    release();
    await assert.rejects(a1, /a1 fails/);
    await a2;
    assert.deepEqual(order, ['b', 'a1', 'a2']);
  });
});
