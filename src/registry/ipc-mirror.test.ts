/**
 * WorkerRegistry (a worker's mirror of the primary's registry) against the
 * shared registry contract, with a real primary side: a RegistryHost serving
 * an EmbeddedRegistry over a real MessageChannel (the same ordered structured
 * messages as cluster IPC). Then what only a mirror shows: several workers on
 * one registry, late joiners, error codes across the channel, NoExpire
 * records, deadlines when the primary does not answer or is gone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { ManualClock, type Clock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { registryContract, rejectsWith, svc } from './contract.test-suite.js';
import { EmbeddedRegistry } from './embedded.js';
import { portChannel } from './ipc-channel.js';
import { RegistryHost } from './ipc-host.js';
import { WorkerRegistry } from './ipc-mirror.js';
import type { RegistryEvent, Service, Staleness } from './types.js';

/** Polls (real time: the host's poll is a real timer) until `cond` holds; fails after 5 s. */
async function waitUntil(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met within 5 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const root = mkdtempSync(join(tmpdir(), 'skydns-ipc-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A primary: an embedded registry served by a RegistryHost; `worker()` attaches a mirror over a fresh MessageChannel. */
async function primary(clock: Clock) {
  const real = new EmbeddedRegistry({ path: join(root, `r${n++}`), clock, logger: silentLogger, fsync: false });
  await real.start();
  const host = new RegistryHost(real, { logger: silentLogger, pollMs: 20 });
  const ports: MessageChannel[] = [];
  const workers: WorkerRegistry[] = [];
  return {
    real,
    host,
    async worker(o: { start?: boolean; requestTimeoutMs?: number } = {}): Promise<WorkerRegistry> {
      const mc = new MessageChannel();
      ports.push(mc);
      host.attach(portChannel(mc.port1));
      const w = new WorkerRegistry({ channel: portChannel(mc.port2), clock, logger: silentLogger, requestTimeoutMs: o.requestTimeoutMs });
      workers.push(w);
      if (o.start !== false) await w.start();
      return w;
    },
    /** Closes the primary's end of every channel (the primary process died). */
    die(): void {
      for (const mc of ports) mc.port1.close();
    },
    async close(): Promise<void> {
      // The prototype's close: the contract's registry has its close replaced by one that calls this.
      for (const w of workers) await WorkerRegistry.prototype.close.call(w);
      host.close();
      for (const mc of ports) {
        mc.port1.close();
        mc.port2.close();
      }
      await real.close();
    },
  };
}

registryContract('workers (mirror over IPC)', async (clock) => {
  const p = await primary(clock);
  const w = await p.worker();
  const close = w.close.bind(w);
  // The contract closes the registry it was given; the primary side goes with it.
  w.close = async () => {
    await close();
    await p.close();
  };
  return w;
});

describe('WorkerRegistry', () => {
  it('every worker sees every other worker\'s writes, in commit order, with the primary\'s version', async () => {
    const clock = new ManualClock();
    const p = await primary(clock);
    try {
      const a = await p.worker();
      const b = await p.worker();
      const seen: string[] = [];
      b.onChange((e: RegistryEvent) => seen.push(`${e.kind}:${e.service.UUID}`));
      await a.put(svc({ UUID: 'x' }));
      await a.refresh('x', 60);
      await a.put(svc({ UUID: 'y' }));
      await a.remove('x');
      await b.flush();
      assert.deepEqual(seen, ['put:x', 'refresh:x', 'put:y', 'remove:x']);
      assert.deepEqual(b.list().map((s) => s.UUID), ['y']);
      assert.equal(b.version, p.real.version);
      assert.equal(a.version, p.real.version);
      await a.putCallback({ UUID: 'cb', Name: 'web', Reply: '127.0.0.1', Port: 9 });
      await b.flush();
      assert.deepEqual(b.callbacks().map((c) => c.UUID), ['cb'], 'callbacks reach the other workers too');
      assert.equal(b.version, p.real.version);
    } finally {
      await p.close();
    }
  });

  it('a worker that joins late starts from a snapshot of the live services', async () => {
    const clock = new ManualClock();
    const p = await primary(clock);
    try {
      await p.real.put(svc({ UUID: 'old' }));
      await p.real.put({ ...svc({ UUID: 'forever' }), NoExpire: true } as Service);
      await p.real.putCallback({ UUID: 'cb', Name: 'web', Reply: '127.0.0.1', Port: 9 });
      const w = await p.worker();
      assert.equal(w.ready(), true);
      assert.deepEqual(w.list().map((s) => s.UUID).sort(), ['forever', 'old']);
      assert.equal(w.get('forever')!.expiresAt, Infinity, 'NoExpire survives the channel');
      assert.deepEqual(w.get('old'), p.real.get('old'));
      assert.equal(w.callbacks().length, 1);
      assert.equal(w.version, p.real.version);
      assert.equal(w.isCallbackLeader(), false, 'workers never fire callbacks: the primary does');
    } finally {
      await p.close();
    }
  });

  it('hides a record on the worker\'s own clock before the primary sweeps it', async () => {
    const primaryClock = new ManualClock();
    const workerClock = new ManualClock(primaryClock.now());
    const real = new EmbeddedRegistry({ path: join(root, `r${n++}`), clock: primaryClock, logger: silentLogger, fsync: false });
    await real.start();
    const host = new RegistryHost(real, { logger: silentLogger });
    const mc = new MessageChannel();
    host.attach(portChannel(mc.port1));
    const w = new WorkerRegistry({ channel: portChannel(mc.port2), clock: workerClock, logger: silentLogger });
    try {
      await w.start();
      await w.put(svc({ TTL: 10 }));
      workerClock.advance(10_000);
      assert.equal(w.get('u1'), undefined, 'expired on the worker\'s clock');
      assert.equal(real.get('u1')?.UUID, 'u1', 'the primary has not got there yet');
    } finally {
      await w.close();
      host.close();
      mc.port1.close();
      await real.close();
    }
  });

  it('carries the primary\'s error codes and key paths', async () => {
    const p = await primary(new ManualClock());
    try {
      const w = await p.worker();
      await w.put(svc());
      await rejectsWith(w.put(svc()), 'SKY_ERR_REGISTRY_EXISTS', 'UUID');
      await rejectsWith(w.refresh('nope'), 'SKY_ERR_REGISTRY_NOT_FOUND', 'UUID');
      await rejectsWith(w.put(svc({ UUID: 'v', Port: 0 })), 'SKY_ERR_REGISTRY_INVALID', 'Port');
      await rejectsWith(w.removeCallback('nope'), 'SKY_ERR_REGISTRY_NOT_FOUND');
    } finally {
      await p.close();
    }
  });

  it('a write the primary never answers fails with UNAVAILABLE after its deadline', async () => {
    const clock = new ManualClock();
    const p = await primary(clock);
    try {
      const w = await p.worker({ requestTimeoutMs: 50 });
      p.host.close(); // the primary stops answering but its end stays open
      await rejectsWith(w.put(svc()), 'SKY_ERR_REGISTRY_UNAVAILABLE');
    } finally {
      await p.close();
    }
  });

  it('when the primary is gone: pending and new writes fail with UNAVAILABLE, reads go on, not ready', async () => {
    const clock = new ManualClock();
    const p = await primary(clock);
    try {
      const w = await p.worker({ requestTimeoutMs: 60_000 });
      await w.put(svc({ UUID: 'kept' }));
      p.host.close();
      const pending = w.put(svc({ UUID: 'lost' }));
      p.die();
      await rejectsWith(pending, 'SKY_ERR_REGISTRY_UNAVAILABLE');
      await rejectsWith(w.put(svc({ UUID: 'later' })), 'SKY_ERR_REGISTRY_UNAVAILABLE');
      assert.equal(w.ready(), false);
      assert.equal(w.get('kept')?.UUID, 'kept', 'DNS keeps answering from the last copy');
      await w.flush(); // nothing to wait for: resolves
    } finally {
      await p.close();
    }
  });

  it('hands on the primary\'s staleness (an etcd mirror cut off from etcd): workers stop vouching, and start again', async () => {
    const clock = new ManualClock();
    const p = await primary(clock);
    try {
      let st: Staleness | undefined = { stale: false, lagSeconds: 0.2 };
      (p.real as unknown as { staleness: () => Staleness | undefined }).staleness = () => st;
      const w = await p.worker();
      assert.equal(w.vouches(), true);
      assert.deepEqual(w.staleness(), { stale: false, lagSeconds: 0.2 });
      st = { stale: true, lagSeconds: 4, readAt: clock.now() - 1000 };
      await waitUntil(() => !w.vouches());
      const s = w.staleness()!;
      assert.equal(s.stale, true);
      assert.equal(s.readAt, clock.now() - 1000);
      assert.ok(s.lagSeconds! >= 4, 'the lag is carried forward while stale');
      st = { stale: false, lagSeconds: 0.1 };
      await waitUntil(() => w.vouches());
      assert.equal(w.staleness()!.readAt, undefined);
    } finally {
      await p.close();
    }
  });

  it('start fails with UNAVAILABLE when no primary answers', async () => {
    const mc = new MessageChannel();
    const w = new WorkerRegistry({ channel: portChannel(mc.port2), clock: new ManualClock(), logger: silentLogger, startTimeoutMs: 50 });
    try {
      await rejectsWith(w.start(), 'SKY_ERR_REGISTRY_UNAVAILABLE');
      assert.equal(w.ready(), false);
    } finally {
      mc.port1.close();
      mc.port2.close();
    }
  });
});
