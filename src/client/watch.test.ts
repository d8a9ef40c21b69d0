import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { body, fixture } from '../../plugins/api/api-fixture.js';
import { isSkyApiError } from './http.js';
import { watch, type WatchEvent } from './watch.js';

const show = (e: WatchEvent): string => (e.type === 'reset' ? `reset:${e.services.map((s) => s.UUID).join(',')}` : `${e.type}:${e.service.UUID}`);

describe('client watch()', () => {
  it('iterates a reset, then changes; after a broken stream it resumes from the last event without a gap', async () => {
    const f = await fixture({ secret: 'pw' });
    const sockets = new Set<Socket>();
    f.app.server.on('connection', (s: Socket) => sockets.add(s));
    try {
      await f.app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(f.app.server.address() as { port: number }).port}`;
      const put = (uuid: string, over = {}) => f.call({ method: 'PUT', url: `/skydns/services/${uuid}`, payload: body(over), headers: { authorization: 'pw' } });
      await put('a');
      const it = watch(base, 'web.production', { secret: 'pw', retryMs: 10 });
      const seen: string[] = [];
      const next = async (): Promise<void> => {
        const r = await it.next();
        assert.equal(r.done, false);
        seen.push(show(r.value as WatchEvent));
      };
      await next();
      await put('b');
      await put('other', { Name: 'db' });
      await next();
      // The server cuts the connection; changes happen while the client is away.
      for (const s of sockets) s.destroy();
      await f.call({ method: 'DELETE', url: '/skydns/services/a', headers: { authorization: 'pw' } });
      await next();
      await put('c');
      await next();
      assert.deepEqual(seen, ['reset:a', 'registered:b', 'deleted:a', 'registered:c']);
      await it.return();
    } finally {
      await f.close();
    }
  });

  it('ends with a SkyApiError when the server refuses (wrong secret, bad pattern)', async () => {
    const f = await fixture({ secret: 'pw' });
    try {
      await f.app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(f.app.server.address() as { port: number }).port}`;
      await assert.rejects(watch(base, '', { secret: 'nope' }).next(), (e: unknown) => isSkyApiError(e, 401) && e.code === 'SKY_ERR_API_UNAUTHORIZED');
      await assert.rejects(watch(base, 'a..b', { secret: 'pw' }).next(), (e: unknown) => isSkyApiError(e, 400) && e.path === 'query');
    } finally {
      await f.close();
    }
  });
});
