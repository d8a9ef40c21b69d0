/**
 * What watching must show on every registry backend. A backend's test file
 * calls `watchContract(name, make)`; `make` returns a *started* registry on the
 * given ManualClock. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../clock.js';
import { svc } from '../contract.test-suite.js';
import type { Registry } from '../types.js';
import { ChangeLog } from './change-log.js';
import { Poll } from './poll.js';
import { StreamWatcher, type WatchChange, type WatchReset, type WatchSink } from './stream.js';

export interface SseEvent {
  event: string;
  id: string;
  data: WatchChange | WatchReset;
}

/** A sink that keeps what it was sent; `full` makes write() say "no more" until drain(). */
export class ArraySink implements WatchSink {
  chunks: string[] = [];
  full = false;
  closed = false;
  private drains: Array<() => void> = [];

  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return !this.full;
  }
  onDrain(fn: () => void): void {
    this.drains.push(fn);
  }
  close(): void {
    this.closed = true;
  }
  drain(): void {
    this.full = false;
    for (const fn of this.drains.splice(0)) fn();
  }
  /** The SSE events written so far (comments and retry lines left out). */
  events(): SseEvent[] {
    const out: SseEvent[] = [];
    for (const c of this.chunks) {
      const m = /^event: (.*)\nid: (.*)\ndata: (.*)\n\n$/.exec(c);
      if (m) out.push({ event: m[1]!, id: m[2]!, data: JSON.parse(m[3]!) as WatchChange | WatchReset });
    }
    return out;
  }
  /** `type:UUID` of every change event, resets as `reset:<uuids>`. */
  summary(): string[] {
    return this.events().map((e) => (e.data.type === 'reset' ? `reset:${e.data.services.map((s) => s.UUID).join(',')}` : `${e.event}:${e.data.service.UUID}`));
  }
}

export function watchContract(name: string, makeRegistry: (clock: ManualClock) => Promise<Registry>): void {
  describe(`watch contract: ${name}`, () => {
    let clock: ManualClock;
    let reg: Registry;
    let log: ChangeLog;
    beforeEach(async () => {
      clock = new ManualClock();
      reg = await makeRegistry(clock);
      log = new ChangeLog(reg, 64);
    });
    afterEach(async () => {
      log.close();
      await reg.close();
    });
    const watch = (pattern: string[] = ['web', 'production'], from?: string): ArraySink => {
      const sink = new ArraySink();
      const [name, environment] = pattern;
      new StreamWatcher({ log, registry: reg, clock, pattern: { name: name!, environment: environment! }, ...(from ? { from } : {}) }, sink);
      return sink;
    };

    it('streams every event kind for the matching services only, in commit order', async () => {
      await reg.put(svc({ UUID: 'before' }));
      await reg.flush();
      const sink = watch();
      await reg.put(svc({ UUID: 'a', TTL: 10 }));
      await reg.put(svc({ UUID: 'other', Name: 'db' }));
      await reg.refresh('a', 20);
      await reg.put(svc({ UUID: 'b', TTL: 100 }));
      await reg.remove('b');
      await reg.flush();
      clock.advance(20_000);
      await reg.flush();
      assert.deepEqual(sink.summary(), ['reset:before', 'registered:a', 'updated:a', 'registered:b', 'deleted:b', 'expired:a']);
      const ev = sink.events();
      const upd = ev[2]!.data as WatchChange;
      assert.equal(upd.service.TTL, 20);
      assert.equal(upd.index, ev[2]!.id);
      const reset = ev[0]!.data as WatchReset;
      assert.equal(reset.reason, 'start');
      // Ids grow with each event and name this log's epoch.
      const seqs = ev.map((e) => Number(e.id.slice(e.id.lastIndexOf('-') + 1)));
      assert.deepEqual([...seqs].sort((x, y) => x - y), seqs);
      assert.ok(ev.every((e) => e.id.startsWith(`${log.epoch}-`)));
    });

    it('a reconnect with the last event id gets exactly what it missed, without a reset', async () => {
      const always = watch();
      const first = watch();
      await reg.put(svc({ UUID: 'a' }));
      await reg.put(svc({ UUID: 'b' }));
      await reg.flush();
      const lastId = first.events().at(-1)!.id;
      // The client goes away; changes go on.
      const seen = first.summary();
      await reg.refresh('a', 60);
      await reg.remove('b');
      await reg.put(svc({ UUID: 'c' }));
      await reg.flush();
      const again = watch(undefined, lastId);
      await reg.put(svc({ UUID: 'd' }));
      await reg.flush();
      assert.deepEqual([...seen, ...again.summary()], always.summary());
      assert.ok(!again.summary().some((s) => s.startsWith('reset')), 'no reset for a resumable id');
    });

    it('a blocking GET answers at once with what changed after its index, else holds until a change or its wait', async () => {
      await reg.put(svc({ UUID: 'a' }));
      await reg.flush();
      const first = await new Poll({ log, registry: reg, clock, pattern: { name: 'web' }, waitMs: 30_000 }).answer;
      assert.equal(first.index, log.cursor());
      assert.ok('services' in first && first.services.map((s) => s.UUID).join() === 'a');
      const held = new Poll({ log, registry: reg, clock, pattern: { name: 'web' }, waitMs: 30_000, from: first.index });
      let answered = false;
      void held.answer.then(() => (answered = true));
      await reg.put(svc({ UUID: 'x', Name: 'db' }));
      await reg.flush();
      await Promise.resolve();
      assert.equal(answered, false, 'a change outside the pattern does not answer');
      await reg.put(svc({ UUID: 'b' }));
      await reg.flush();
      const got = await held.answer;
      assert.ok('events' in got);
      assert.deepEqual(got.events.map((e) => `${e.type}:${e.service.UUID}`), ['registered:b']);
      // Less than the TTLs: nothing expires meanwhile.
      const idle = new Poll({ log, registry: reg, clock, pattern: { name: 'web' }, waitMs: 10_000, from: got.index });
      clock.advance(10_000);
      const empty = await idle.answer;
      assert.deepEqual(empty, { index: got.index, events: [] });
    });
  });
}
