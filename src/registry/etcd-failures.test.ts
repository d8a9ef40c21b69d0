/**
 * The etcd backend when etcd is not there: unreachable at start (the node
 * serves, not ready, retries and says so, then catches up with no restart),
 * and lost after start (writes refused with the no-quorum message, reads go
 * on from the mirror, writes resume when etcd is back).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../clock.js';
import { isSkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { EtcdCluster, etcdSkip, freePort, until } from '../testing/etcd.js';
import { svc } from './contract.test-suite.js';
import { EtcdRegistry } from './etcd.js';
import type { RegistryEvent } from './types.js';

const TESTS = ['etcd unreachable at start: not ready, retries, catches up', 'etcd lost after start: 503-style refusals, reads from the mirror, resumes'];
const skip = etcdSkip('src/registry/etcd-failures.test.js', TESTS);

const clusters: EtcdCluster[] = [];
const regs: EtcdRegistry[] = [];
after(async () => {
  for (const r of regs) await r.close();
  for (const c of clusters) await c.stop();
});

function capture(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  return { lines, logger: pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) }) };
}

async function unavailable(p: Promise<unknown>): Promise<string> {
  let message = '';
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isSkyError(e, 'SKY_ERR_REGISTRY_UNAVAILABLE'), `expected SKY_ERR_REGISTRY_UNAVAILABLE, got ${String(e)}`);
    message = e.message;
    return true;
  });
  return message;
}

/** Retries `fn` until it resolves (a write that must go through once etcd is back). */
async function eventually<T>(what: string, fn: () => Promise<T>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${ms} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('etcd registry failures', () => {
  it(TESTS[0]!, { skip }, async () => {
    const port = await freePort();
    const { logger, lines } = capture();
    const reg = new EtcdRegistry({ endpoints: [`127.0.0.1:${port}`], prefix: '/f1', clock: new ManualClock(), logger, dialTimeoutMs: 300, callTimeoutMs: 1000 });
    regs.push(reg);
    await reg.start(); // resolves although nothing listens there
    assert.equal(reg.ready(), false);
    assert.deepEqual(reg.list(), []);
    // The probes found the one member refusing connections: this node cannot reach etcd (not "no quorum").
    const refused = new RegExp(`^this node cannot reach etcd: tried 127\\.0\\.0\\.1:${port} \\(connection refused\\)`);
    await until('the 503 names the member the probe could not reach', async () => refused.test(await unavailable(reg.put(svc()))), 5000);
    assert.ok(lines.some((l) => l.level === 40 && /no full list from etcd/.test(l.msg)), 'says it is not ready and retrying');
    await until('a retry is logged', () => lines.some((l) => /cannot list the registry from etcd/.test(l.msg) && /retrying/.test(l.msg)));
    clusters.push(await EtcdCluster.start(1, { clientPorts: [port] }));
    await until('the registry syncs once etcd is up', () => reg.ready(), 30_000);
    await reg.put(svc());
    assert.ok(reg.get('u1'));
    assert.ok(lines.some((l) => /registry mirror synced from etcd/.test(l.msg)));
  });

  it(TESTS[1]!, { skip }, async () => {
    const c = await EtcdCluster.start(1);
    clusters.push(c);
    const clock = new ManualClock();
    const a = new EtcdRegistry({ endpoints: c.endpoints, prefix: '/f2', clock, logger: capture().logger, callTimeoutMs: 1000 });
    const b = new EtcdRegistry({ endpoints: c.endpoints, prefix: '/f2', clock, logger: capture().logger, callTimeoutMs: 1000 });
    regs.push(a, b);
    await a.start();
    await b.start();
    const seen: RegistryEvent[] = [];
    b.onChange((e) => seen.push(e));
    const s = await a.put(svc({ UUID: 'kept', TTL: 3600 }));
    await until('b has it', () => b.get('kept') !== undefined);

    await c.kill(0);
    // Once a probe has met the dead member the 503 says so (before, the call's own failure).
    await until('the 503 says this node cannot reach etcd', async () => /^this node cannot reach etcd: tried 127\.0\.0\.1:\d+ \(/.test(await unavailable(a.put(svc({ UUID: 'lost' })))), 5000);
    assert.doesNotMatch(await unavailable(a.put(svc({ UUID: 'lost' }))), /no quorum/);
    await unavailable(b.refresh('kept'));
    await unavailable(a.remove('kept'));
    assert.deepEqual(a.get('kept'), s, 'reads answer from the mirror');
    assert.deepEqual(b.query({ name: 'web', environment: 'production' }).map((x) => x.UUID), ['kept']);
    assert.equal(a.ready(), true, 'a node keeps its copy: still ready');

    await c.restart(0);
    await eventually('a write after etcd restarts', () => a.put(svc({ UUID: 'back' })));
    await until('b sees the new write (its watch re-listed)', () => b.get('back') !== undefined);
    await b.remove('kept');
    await until('a sees the removal', () => a.get('kept') === undefined);
    assert.deepEqual(seen.map((e) => `${e.kind}:${e.service.UUID}`), ['put:kept', 'put:back', 'remove:kept']);
  });
});
