import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { ManualClock } from '../clock.js';
import { isSkyError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { svc } from './contract.test-suite.js';
import { createRegistry, registrySchema } from './create.js';

const base = mkdtempSync(join(tmpdir(), 'skydns-create-'));
after(() => rmSync(base, { recursive: true, force: true }));
const ctx = { clock: new ManualClock(), logger: silentLogger, baseDir: base };

describe('registry config', () => {
  // Compiled the way the Skyfile loader compiles it.
  const validate = new Ajv({ useDefaults: true, strict: false }).compile(registrySchema);

  it('fills defaults and rejects unknown keys and bad values', () => {
    const cfg: Record<string, unknown> = {};
    assert.equal(validate(cfg), true);
    assert.deepEqual(cfg, { backend: 'embedded', path: './data', ttlMin: 1, ttlMax: 86400, snapshotEvery: 10000, fsync: true });
    assert.equal(validate({ pth: './x' }), false);
    assert.equal(validate({ backend: 'redis' }), false);
    assert.equal(validate({ ttlMax: 1.5 }), false);
    assert.equal(validate({ backend: 'etcd' }), true, 'named in the schema, refused by the factory');
  });

  it('creates an embedded registry under baseDir, with the TTL bounds applied', async () => {
    const reg = createRegistry({ path: 'reg', ttlMin: 5, ttlMax: 50 }, ctx);
    await reg.start();
    assert.ok(existsSync(join(base, 'reg')));
    await assert.rejects(reg.put(svc({ TTL: 51 })), (e) => isSkyError(e, 'SKY_ERR_REGISTRY_INVALID'));
    await reg.put(svc({ TTL: 50 }));
    await reg.close();
  });

  it('refuses ttlMin > ttlMax', () => {
    assert.throws(() => createRegistry({ ttlMin: 10, ttlMax: 5 }, ctx), (e) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID') && e.path === 'registry.ttlMin');
  });
});
