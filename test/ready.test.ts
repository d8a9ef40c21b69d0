/** Readiness as the health plugin sees it: what the app is waiting for. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer } from '../src/testing/server.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

test('notReady names plugins that are not ready, the registry, and shutdown', async () => {
  const srv = await startServer(`{ chain: ["log", "./echo-plugin.js", "./not-ready-plugin.js"] }`, { baseDir: fixtures });
  try {
    assert.deepEqual(srv.app.notReady(), ['chain[2]../not-ready-plugin.js']);
    assert.equal(srv.app.ready(), false);
  } finally {
    const stopping = srv.stop();
    assert.ok(srv.app.notReady().includes('stopping'));
    await stopping;
  }
});
