/**
 * GET /skydns/watch over HTTP: Server-Sent Events on a real socket, the
 * blocking GET through inject(), the secret, bad parameters, and a stop while
 * streams are open.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { body, expectError, fixture } from './api-fixture.js';
import { watchOf } from './watch-routes.js';

type Ev = { event: string; id: string; data: { type: string; service?: { UUID: string; TTL: number }; services?: Array<{ UUID: string }> } };

/** An SSE reader over a fetch body: `next(n)` resolves with the next n events (fewer if the stream ends). */
function sse(res: Response): { next(want: number): Promise<Ev[]>; cancel(): Promise<void> } {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const ready: Ev[] = [];
  let ended = false;
  return {
    async next(want) {
      while (ready.length < want && !ended) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        buf += value;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f: Record<string, string> = {};
          for (const line of block.split('\n')) {
            const c = line.indexOf(':');
            if (c > 0) f[line.slice(0, c)] = line.slice(c + 1).trimStart();
          }
          if (f.event) ready.push({ event: f.event, id: f.id!, data: JSON.parse(f.data!) as Ev['data'] });
        }
      }
      return ready.splice(0, want);
    },
    cancel: () => reader.cancel(),
  };
}

describe('api watch routes', () => {
  it('streams registered, updated, deleted and expired events as Server-Sent Events, and resumes from Last-Event-ID', async () => {
    const f = await fixture();
    try {
      await f.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(f.app.server.address() as { port: number }).port}/skydns/watch?query=web.production`;
      const ac = new AbortController();
      const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: ac.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const events = sse(res);
      const [reset] = await events.next(1);
      assert.equal(reset!.event, 'reset');
      assert.deepEqual(reset!.data.services, []);
      await f.call({ method: 'PUT', url: '/skydns/services/a', payload: body({ TTL: 10 }) });
      await f.call({ method: 'PUT', url: '/skydns/services/x', payload: body({ Name: 'db' }) });
      await f.call({ method: 'PATCH', url: '/skydns/services/a', payload: { TTL: 20 } });
      await f.call({ method: 'PUT', url: '/skydns/services/b', payload: body() });
      await f.call({ method: 'DELETE', url: '/skydns/services/b' });
      f.clock.advance(20_000);
      await f.registry.flush();
      const got = await events.next(5);
      assert.deepEqual(got.map((e) => `${e.event}:${e.data.service!.UUID}`), ['registered:a', 'updated:a', 'registered:b', 'deleted:b', 'expired:a']);
      assert.equal(got[1]!.data.service!.TTL, 20);
      ac.abort();
      // Reconnect with the id of the second event: the rest again, nothing else.
      const again = await fetch(url, { headers: { accept: 'text/event-stream', 'last-event-id': got[1]!.id } });
      const againEvents = sse(again);
      const rest = await againEvents.next(3);
      assert.deepEqual(rest.map((e) => `${e.event}:${e.data.service!.UUID}`), ['registered:b', 'deleted:b', 'expired:a']);
      await againEvents.cancel();
    } finally {
      await f.close();
    }
  });

  it('blocking GET: a reset without index, then held until a matching change; the cursor is in X-Skydns-Index', async () => {
    const f = await fixture();
    try {
      await f.call({ method: 'PUT', url: '/skydns/services/a', payload: body() });
      const first = await f.call({ method: 'GET', url: '/skydns/watch?query=production' });
      assert.equal(first.statusCode, 200);
      assert.equal(first.headers['cache-control'], 'no-store');
      const reset = first.json() as { type: string; index: string; services: Array<{ UUID: string }> };
      assert.equal(reset.type, 'reset');
      assert.deepEqual(reset.services.map((s) => s.UUID), ['a']);
      assert.equal(first.headers['x-skydns-index'], reset.index);
      const held = f.call({ method: 'GET', url: `/skydns/watch?query=production&index=${reset.index}&wait=30s` });
      await f.call({ method: 'PUT', url: '/skydns/services/b', payload: body() });
      const next = (await held).json() as { events: Array<{ type: string; service: { UUID: string } }> };
      assert.deepEqual(next.events.map((e) => `${e.type}:${e.service.UUID}`), ['registered:b']);
    } finally {
      await f.close();
    }
  });

  it('is behind the secret like every read, and names a bad parameter', async () => {
    const f = await fixture({ secret: 's3cret' });
    try {
      expectError(await f.call({ method: 'GET', url: '/skydns/watch', headers: { accept: 'text/event-stream' } }), 401, 'SKY_ERR_API_UNAUTHORIZED');
      const ok = await f.call({ method: 'GET', url: '/skydns/watch', headers: { authorization: 'Bearer s3cret' } });
      assert.equal(ok.statusCode, 200);
      expectError(await f.call({ method: 'GET', url: '/skydns/watch?query=a..b', headers: { authorization: 's3cret' } }), 400, 'SKY_ERR_API_BAD_REQUEST', 'query');
      expectError(await f.call({ method: 'GET', url: '/skydns/watch?wait=forever', headers: { authorization: 's3cret' } }), 400, 'SKY_ERR_API_BAD_REQUEST', 'wait');
    } finally {
      await f.close();
    }
  });

  it('past maxWatchers answers 429; a stop ends open streams and held polls instead of waiting on them', async () => {
    const f = await fixture({ watch: { maxWatchers: 2 } });
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(f.app.server.address() as { port: number }).port}/skydns/watch`;
    const stream = await fetch(base, { headers: { accept: 'text/event-stream' } });
    const events = sse(stream);
    await events.next(1);
    const cursor = watchOf(f.app)!.log.cursor();
    const held = fetch(`${base}?index=${cursor}&wait=5m`);
    await new Promise<void>((resolve) => {
      const check = (): void => (watchOf(f.app)!.watchers === 2 ? resolve() : void setImmediate(check));
      check();
    });
    const over = await fetch(base);
    assert.equal(over.status, 429);
    assert.equal(((await over.json()) as { code: string }).code, 'SKY_ERR_API_RATE_LIMITED');
    await f.close();
    const answered = await held;
    assert.equal(answered.status, 200);
    assert.deepEqual(((await answered.json()) as { events: unknown[] }).events, []);
    const tail = await events.next(1);
    assert.deepEqual(tail, [], 'the stream ended');
  });

  it('a reader that stops reading on a real socket is cut off once the history passes it; a reading watcher gets every change and the server keeps answering', async (t) => {
    const f = await fixture({ watch: { history: 64 } });
    try {
      await f.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (f.app.server.address() as { port: number }).port;
      const put = await f.call({ method: 'PUT', url: '/skydns/services/a', payload: body({ Host: `${'h'.repeat(55)}.example` }) });
      assert.equal(put.statusCode, 201, put.body);
      // The slow one: sends its request, then never reads (its socket is paused from the start).
      const slow = net.connect({ host: '127.0.0.1', port });
      slow.pause();
      slow.write('GET /skydns/watch HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
      const fast = await fetch(`http://127.0.0.1:${port}/skydns/watch`, { headers: { accept: 'text/event-stream' } });
      const events = sse(fast);
      await events.next(1);
      const watch = watchOf(f.app)!;
      while (watch.watchers < 2) await new Promise((r) => setImmediate(r));
      let beats = 0;
      let got = 0;
      // Heartbeats until the server gives up on the slow reader (bounded: kernel buffers are finite).
      while (watch.watchers === 2 && beats < 200_000) {
        await f.registry.refresh('a');
        beats++;
        if (beats % 500 === 0) got += (await events.next(500)).length;
      }
      assert.equal(watch.watchers, 1, `the slow reader was cut off (after ${beats} changes)`);
      t.diagnostic(`the slow reader was cut off after ${beats} changes (what the kernel's socket buffers held, plus the history of 64)`);
      got += (await events.next(beats - got)).length;
      assert.equal(got, beats, 'the reading watcher got every change');
      const res = await f.call({ method: 'GET', url: '/skydns/services/a' });
      assert.equal(res.statusCode, 200);
      slow.destroy();
      await events.cancel();
    } finally {
      await f.close();
    }
  });
});
