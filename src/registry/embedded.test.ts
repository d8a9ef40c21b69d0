import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../clock.js';
import { silentLogger, type Logger } from '../logger.js';
import { registryContract, rejectsWith, svc } from './contract.test-suite.js';
import { EmbeddedRegistry, type EmbeddedOptions } from './embedded.js';
import { logFileName, SNAPSHOT_FILE } from './storage.js';
import type { RegistryEvent } from './types.js';

const root = mkdtempSync(join(tmpdir(), 'skydns-embedded-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `r${n++}`);

async function open(path: string, clock: ManualClock, extra: Partial<EmbeddedOptions> = {}): Promise<EmbeddedRegistry> {
  const r = new EmbeddedRegistry({ path, clock, logger: silentLogger, ...extra });
  await r.start();
  return r;
}

/** A logger that keeps its lines, to assert on warnings. */
function capture(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  return { lines, logger: pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) }) };
}

const logPath = (dir: string): string => join(dir, readdirSync(dir).find((f) => f.startsWith('wal-'))!);

registryContract('embedded', (clock) => open(freshDir(), clock));

describe('embedded registry', () => {
  it('keeps services, refreshes, removals and callbacks across a restart', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    await a.put(svc({ UUID: 'a', TTL: 100 }));
    await a.put(svc({ UUID: 'b' }));
    await a.put({ ...svc({ UUID: 'forever' }), NoExpire: true });
    await a.refresh('a', 500);
    await a.remove('b');
    await a.putCallback({ UUID: 'cb', Name: 'web', Reply: '127.0.0.1', Port: 8 });
    const before = a.list();
    await a.close();
    const b = await open(dir, clock);
    assert.deepEqual(b.list().sort((x, y) => x.UUID.localeCompare(y.UUID)), before.sort((x, y) => x.UUID.localeCompare(y.UUID)));
    assert.equal(b.get('a')!.TTL, 500);
    assert.equal(b.get('forever')!.expiresAt, Infinity);
    assert.equal(b.get('b'), undefined);
    assert.deepEqual(b.callbacks().map((c) => c.UUID), ['cb']);
    await b.close();
  });

  it('drops, on start, what expired by absolute time while it was down (with expire events)', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    await a.put(svc({ UUID: 'short', TTL: 10 }));
    await a.put(svc({ UUID: 'long', TTL: 100 }));
    await a.close();
    clock.advance(50_000); // down for 50 s: no timers of `a` run (it is closed)
    const b = new EmbeddedRegistry({ path: dir, clock, logger: silentLogger });
    const seen: RegistryEvent[] = [];
    b.onChange((e) => seen.push(e));
    await b.start();
    assert.deepEqual(b.list().map((s) => s.UUID), ['long']);
    assert.deepEqual(seen.map((e) => `${e.kind}:${e.service.UUID}`), ['expire:short']);
    await b.close();
    const c = await open(dir, clock);
    assert.deepEqual(c.list().map((s) => s.UUID), ['long']);
    await c.close();
  });

  it('loads with the earlier records intact when the last record is torn at any byte', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    for (let i = 0; i < 4; i++) await a.put(svc({ UUID: `s${i}` }));
    const file = logPath(dir);
    const start = statSync(file).size;
    await a.put(svc({ UUID: 'last', Host: 'last.example.com' }));
    await a.close();
    const full = readFileSync(file);
    assert.ok(full.length > start + 8);
    for (let cut = start; cut < full.length; cut++) {
      writeFileSync(file, full.subarray(0, cut));
      const { logger, lines } = capture();
      const r = await open(dir, clock, { logger, fsync: false });
      assert.deepEqual(r.list().map((s) => s.UUID).sort(), ['s0', 's1', 's2', 's3'], `cut at ${cut}`);
      assert.equal(lines.some((l) => /torn/.test(l.msg)), cut > start, `warning at cut ${cut}`);
      assert.equal(statSync(file).size, start, 'the torn tail is truncated away');
      if (cut === start + 1 || cut === full.length - 1) {
        // New writes land after the repaired end and survive the next load.
        await r.put(svc({ UUID: 'after' }));
        await r.close();
        const again = await open(dir, clock, { fsync: false });
        assert.ok(again.get('after'));
        await again.close();
      } else {
        await r.close();
      }
    }
  });

  it('treats a zero-filled or garbled tail as torn', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    await a.put(svc({ UUID: 'k' }));
    await a.close();
    const file = logPath(dir);
    const good = readFileSync(file);
    for (const tail of [Buffer.alloc(4096), Buffer.from('garbage that is not a frame at all'), Buffer.from([255, 255, 255, 255, 1, 2, 3, 4])]) {
      writeFileSync(file, Buffer.concat([good, tail]));
      const r = await open(dir, clock);
      assert.deepEqual(r.list().map((s) => s.UUID), ['k']);
      await r.close();
      assert.equal(statSync(file).size, good.length);
    }
  });

  it('snapshots every N records and replays snapshot + log', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock, { snapshotEvery: 5 });
    for (let i = 0; i < 12; i++) await a.put(svc({ UUID: `s${i}` }));
    await a.remove('s0');
    await a.putCallback({ UUID: 'cb', Name: 'web', Reply: '10.0.0.9', Port: 1 });
    // 14 records: snapshots after 5 and 10, 4 records in the current log.
    assert.ok(existsSync(join(dir, SNAPSHOT_FILE)));
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('wal-')), [logFileName(2)]);
    await a.close();
    const b = await open(dir, clock, { snapshotEvery: 5 });
    assert.equal(b.list().length, 11);
    assert.equal(b.get('s0'), undefined);
    assert.equal(b.callbacks().length, 1);
    await b.close();
  });

  it('loads after a crash at any step of a snapshot', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock, { snapshotEvery: 3 });
    for (let i = 0; i < 4; i++) await a.put(svc({ UUID: `s${i}` })); // snapshot gen 1 + 1 record in wal-1
    await a.close();
    // Crash after step 1: a stray temp snapshot (even a half-written one).
    writeFileSync(join(dir, 'snapshot.tmp'), 'half a snapsh');
    // Crash before step 4: the old log is still there (its records are in the snapshot).
    writeFileSync(join(dir, logFileName(0)), 'stale');
    let r = await open(dir, clock);
    assert.equal(r.list().length, 4);
    await r.close();
    assert.deepEqual(readdirSync(dir).sort(), [SNAPSHOT_FILE, logFileName(1)].sort());
    // Crash between steps 2 and 3: the new snapshot has no log yet.
    rmSync(join(dir, logFileName(1)));
    r = await open(dir, clock);
    assert.equal(r.list().length, 3);
    await r.put(svc({ UUID: 'next' }));
    await r.close();
    r = await open(dir, clock);
    assert.equal(r.list().length, 4);
    await r.close();
  });

  it('refuses to start on a corrupt snapshot (not a crash artifact)', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock, { snapshotEvery: 1 });
    await a.put(svc());
    await a.close();
    const snap = readFileSync(join(dir, SNAPSHOT_FILE));
    snap[snap.length - 2] ^= 0xff;
    writeFileSync(join(dir, SNAPSHOT_FILE), snap);
    await rejectsWith(open(dir, clock), 'SKY_ERR_REGISTRY_IO');
  });

  it('group-commits concurrent writes and resolves every one', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    const storage = (a as unknown as { storage: { append: (r: unknown[]) => Promise<void> } }).storage;
    const orig = storage.append.bind(storage);
    const batches: number[] = [];
    storage.append = (recs) => {
      batches.push(recs.length);
      return orig(recs);
    };
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => a.put(svc({ UUID: `g${i}` }))));
    assert.equal(all.length, 200);
    assert.equal(batches.reduce((x, y) => x + y, 0), 200);
    assert.ok(batches.length < 200, `expected batching, got ${batches.length} appends`);
    assert.equal(a.list().length, 200);
    await a.close();
    const b = await open(dir, clock);
    assert.equal(b.list().length, 200);
    await b.close();
  });

  it('stops accepting writes after a storage failure, and keeps serving reads', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    await a.put(svc({ UUID: 'ok' }));
    const storage = (a as unknown as { storage: { append: () => Promise<void> } }).storage;
    storage.append = () => Promise.reject(new Error('disk on fire'));
    await rejectsWith(a.put(svc({ UUID: 'lost' })), 'SKY_ERR_REGISTRY_IO');
    await rejectsWith(a.remove('ok'), 'SKY_ERR_REGISTRY_IO');
    assert.ok(a.get('ok'));
    assert.equal(a.get('lost'), undefined);
    await a.close();
  });

  it('sweeps with one timer to the earliest expiry, not by polling', async () => {
    const dir = freshDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    assert.equal(clock.timers, 0);
    await a.put(svc({ UUID: 'late', TTL: 100 }));
    await a.put(svc({ UUID: 'soon', TTL: 10 }));
    assert.equal(clock.timers, 1);
    clock.advance(10_000);
    await a.flush();
    assert.deepEqual(a.list().map((s) => s.UUID), ['late']);
    assert.equal(clock.timers, 1);
    await a.close();
    assert.equal(clock.timers, 0);
  });
});
