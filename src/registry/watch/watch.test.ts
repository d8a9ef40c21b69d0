import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../clock.js';
import { isSkyError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { svc } from '../contract.test-suite.js';
import { EmbeddedRegistry } from '../embedded.js';
import { ChangeLog } from './change-log.js';
import { parseWatchPattern, WatchEndpoint } from './endpoint.js';
import { parseWait, Poll } from './poll.js';
import { StreamWatcher } from './stream.js';
import { ArraySink, watchContract } from './watch.test-suite.js';

const root = mkdtempSync(join(tmpdir(), 'skydns-watch-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function open(clock: ManualClock): Promise<EmbeddedRegistry> {
  const r = new EmbeddedRegistry({ path: join(root, `r${n++}`), clock, logger: silentLogger, fsync: false });
  await r.start();
  return r;
}

watchContract('embedded', open);

describe('watch change log', () => {
  it('resumes a cursor of its own epoch within the ring, and nothing else', async () => {
    const clock = new ManualClock();
    const reg = await open(clock);
    const log = new ChangeLog(reg, 4);
    assert.equal(log.resume(log.cursor()), 0, 'the empty log resumes at 0');
    for (let i = 0; i < 6; i++) await reg.put(svc({ UUID: `s${i}` }));
    assert.equal(log.last, 6);
    assert.equal(log.first, 3);
    assert.equal(log.resume(log.cursor(6)), 6);
    assert.equal(log.resume(log.cursor(2)), 2, 'everything after 2 is still held');
    assert.equal(log.resume(log.cursor(1)), undefined, 'entry 2 is gone: re-list');
    assert.equal(log.resume(log.cursor(7)), undefined, 'ahead of the log (another run): re-list');
    assert.equal(log.resume(`other-${5}`), undefined, 'another epoch: re-list');
    assert.equal(log.resume('5'), 5, 'a bare number is this epoch');
    for (const bad of ['', 'x-', '-1', 'abc', `${log.epoch}-1e3`]) assert.equal(log.resume(bad), undefined, bad);
    log.close();
    await reg.close();
  });

  it('a watcher whose id is older than the ring gets a reset with the current list', async () => {
    const clock = new ManualClock();
    const reg = await open(clock);
    const log = new ChangeLog(reg, 2);
    await reg.put(svc({ UUID: 'a' }));
    const old = log.cursor();
    await reg.put(svc({ UUID: 'b' }));
    await reg.put(svc({ UUID: 'c' }));
    await reg.remove('a');
    const sink = new ArraySink();
    new StreamWatcher({ log, registry: reg, clock, pattern: {}, from: old }, sink);
    assert.deepEqual(sink.summary(), ['reset:b,c']);
    const poll = await new Poll({ log, registry: reg, clock, pattern: {}, waitMs: 1000, from: old }).answer;
    assert.ok('services' in poll && poll.reason === 'start');
    log.close();
    await reg.close();
  });

  it('a slow reader costs one pending write, catches up from the log after a drain, and is cut off once the ring passes it', async () => {
    const clock = new ManualClock();
    const reg = await open(clock);
    const log = new ChangeLog(reg, 8);
    const slow = new ArraySink();
    const w = new StreamWatcher({ log, registry: reg, clock, pattern: {} }, slow);
    slow.full = true;
    await reg.put(svc({ UUID: 'a' }));
    assert.equal(w.isBlocked, true);
    const written = slow.chunks.length;
    for (let i = 0; i < 5; i++) await reg.put(svc({ UUID: `b${i}` }));
    assert.equal(slow.chunks.length, written, 'nothing is written, or queued, while the sink is full');
    slow.drain();
    assert.deepEqual(slow.summary(), ['reset:', 'registered:a', 'registered:b0', 'registered:b1', 'registered:b2', 'registered:b3', 'registered:b4']);
    slow.full = true;
    await reg.put(svc({ UUID: 'c' }));
    for (let i = 0; i < 8; i++) await reg.refresh('c');
    assert.equal(slow.closed, false, 'the ring of 8 still holds all it is owed');
    await reg.refresh('c');
    assert.equal(slow.closed, true, 'a ninth change overwrote what it was owed');
    assert.equal(w.endReason, 'behind');
    assert.equal(log.watchers, 0);
    log.close();
    await reg.close();
  });

  it('1,000 watchers on one log: each holds a cursor, not a queue, however many changes pass', async () => {
    const clock = new ManualClock();
    const reg = await open(clock);
    const log = new ChangeLog(reg, 64);
    const sinks: ArraySink[] = [];
    const watchers: StreamWatcher[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = new ArraySink();
      // Half of them stop reading at once.
      if (i % 2 === 1) s.full = true;
      sinks.push(s);
      watchers.push(new StreamWatcher({ log, registry: reg, clock, pattern: i % 4 < 2 ? {} : { name: 'db' } }, s));
    }
    for (let i = 0; i < 40; i++) await reg.put(svc({ UUID: `w${i}`, Name: i % 2 ? 'web' : 'db' }));
    assert.equal(log.watchers, 1000);
    for (let i = 0; i < 1000; i++) {
      const s = sinks[i]!;
      if (i % 2 === 1) assert.equal(s.chunks.length, 1, `blocked watcher ${i} holds only its first write`);
      else assert.equal(s.events().length, 1 + (i % 4 < 2 ? 40 : 20), `reading watcher ${i} got every matching change`);
    }
    // Sixty-four more changes pass the blocked ones by: they are cut off, the readers go on.
    for (let i = 0; i < 64; i++) await reg.refresh('w0');
    assert.equal(sinks.filter((s) => s.closed).length, 500);
    assert.equal(log.watchers, 500);
    for (const w of watchers) w.close();
    assert.equal(log.watchers, 0);
    log.close();
    await reg.close();
  });

  it('the endpoint answers a held poll when its wait passes on the injected clock, and refuses watchers past its limit', async () => {
    const clock = new ManualClock();
    const reg = await open(clock);
    const ep = new WatchEndpoint(reg, { clock, maxWatchers: 1, keepaliveMs: 1000 });
    const w = ep.parse({ query: 'web.production' }, { accept: 'text/event-stream' });
    assert.equal(w.sse, true);
    assert.deepEqual(w.pattern, { name: 'web', environment: 'production' });
    const poll = ep.poll(ep.parse({ index: ep.log.cursor(), wait: '2s' }, {}), fakeReq());
    assert.throws(() => ep.parse({}, {}), (e: unknown) => isSkyError(e, 'SKY_ERR_API_RATE_LIMITED'));
    clock.advance(2000);
    assert.deepEqual(await poll, { index: ep.log.cursor(), events: [] });
    ep.close();
    await reg.close();
  });

  it('parses wait durations and patterns, naming the parameter on error', () => {
    assert.equal(parseWait(undefined), 300_000);
    assert.equal(parseWait('30s'), 30_000);
    assert.equal(parseWait('5m'), 300_000);
    assert.equal(parseWait('1500ms'), 1500);
    assert.equal(parseWait('12'), 12_000);
    assert.equal(parseWait('99m'), 600_000, 'capped at 10 minutes');
    for (const bad of ['-1s', '1h', 's', '1.5s']) assert.equal(parseWait(bad), undefined, bad);
    assert.deepEqual(parseWatchPattern('east.any.web.production'), { region: 'east', name: 'web', environment: 'production' });
    assert.deepEqual(parseWatchPattern('*.production'), { environment: 'production' });
    for (const bad of ['a..b', 'a.b.c.d.e.f.g', 'we b']) {
      assert.throws(() => parseWatchPattern(bad), (e: unknown) => isSkyError(e, 'SKY_ERR_API_BAD_REQUEST') && e.path === 'query', bad);
    }
    const ep = new WatchEndpoint({ onChange: () => () => undefined } as never, { clock: new ManualClock() });
    assert.throws(() => ep.parse({ wait: 'soon' }, {}), (e: unknown) => isSkyError(e, 'SKY_ERR_API_BAD_REQUEST') && e.path === 'wait');
    ep.close();
  });
});

function fakeReq(): import('node:http').IncomingMessage {
  return {} as import('node:http').IncomingMessage;
}
