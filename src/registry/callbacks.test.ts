import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { isSkyError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { CallbackNotifier, callbackMatches, callbackUrl, checkReplyAllowed, type CallbackNotifierOptions } from './callbacks.js';
import { svc } from './contract.test-suite.js';
import { EmbeddedRegistry } from './embedded.js';
import type { StoredService } from './types.js';

interface Hit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A local receiver; `answer(n)` gives the status for the n-th request (0-based), or null to never answer. */
async function receiver(answer: (n: number) => number | null): Promise<{ server: Server; port: number; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const status = answer(hits.length);
      hits.push({ method: req.method!, url: req.url!, headers: req.headers, body: JSON.parse(data || '{}') });
      if (status !== null) res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

/** Runs the clock forward (backoff timers) until every delivery is settled; no real sleeping. */
async function settle(clock: ManualClock, n: CallbackNotifier): Promise<void> {
  let done = false;
  const p = n.idle().then(() => (done = true));
  while (!done) {
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
  }
  await p;
}

const root = mkdtempSync(join(tmpdir(), 'skydns-callbacks-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

describe('callback notifier (real HTTP receiver)', () => {
  let clock: ManualClock;
  let reg: EmbeddedRegistry;
  let notifier: CallbackNotifier | undefined;
  let server: Server | undefined;
  beforeEach(async () => {
    clock = new ManualClock();
    reg = new EmbeddedRegistry({ path: join(root, `d${dirs++}`), clock, logger: silentLogger, fsync: false });
    await reg.start();
  });
  afterEach(async () => {
    await notifier?.close();
    await reg.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });
  const make = (opts: Partial<CallbackNotifierOptions> = {}): CallbackNotifier =>
    (notifier = new CallbackNotifier(reg, { clock, logger: silentLogger, backoffMs: 100, ...opts }));

  it('sends exactly one DELETE per removal (remove and expiry) to matching callbacks', async () => {
    const rx = await receiver(() => 200);
    server = rx.server;
    make();
    await reg.putCallback({ UUID: 'cb-web', Name: 'web', Reply: '127.0.0.1', Port: rx.port });
    await reg.putCallback({ UUID: 'cb-west', Name: 'web', Region: 'west', Reply: '127.0.0.1', Port: rx.port });
    await reg.put(svc({ UUID: 'gone', TTL: 3600 }));
    await reg.put(svc({ UUID: 'expires', TTL: 10 }));
    await reg.put(svc({ UUID: 'other', Name: 'db', TTL: 10 }));
    await reg.put(svc({ UUID: 'kept', TTL: 3600 }));
    await reg.refresh('kept');
    await reg.remove('gone');
    clock.advance(10_000);
    await reg.flush();
    await settle(clock, notifier!);
    assert.deepEqual(rx.hits.map((h) => `${h.method} ${h.url} ${h.body.UUID}`).sort(), [
      'DELETE /skydns/callbacks/cb-web expires',
      'DELETE /skydns/callbacks/cb-web gone',
    ]);
    const body = rx.hits.find((h) => h.body.UUID === 'gone')!.body;
    assert.equal(body.Name, 'web');
    assert.equal(typeof body.Expires, 'string');
    assert.equal(rx.hits[0]!.headers['content-type'], 'application/json');
    assert.equal(rx.hits[0]!.headers.authorization, undefined);
  });

  it('retries after a 500, then succeeds; sends the secret as Authorization', async () => {
    const rx = await receiver((n) => (n === 0 ? 500 : 204));
    server = rx.server;
    make({ secret: 's3cret' });
    await reg.putCallback({ UUID: 'cb', Name: 'web', Reply: '127.0.0.1', Port: rx.port });
    await reg.put(svc());
    await reg.remove('u1');
    await settle(clock, notifier!);
    assert.equal(rx.hits.length, 2);
    assert.ok(rx.hits.every((h) => h.headers.authorization === 's3cret' && h.body.UUID === 'u1'));
  });

  it('gives up after the retry bound', async () => {
    const rx = await receiver(() => 503);
    server = rx.server;
    make({ retries: 2 });
    await reg.putCallback({ UUID: 'cb', Name: 'web', Reply: '127.0.0.1', Port: rx.port });
    await reg.put(svc());
    await reg.remove('u1');
    await settle(clock, notifier!);
    assert.equal(rx.hits.length, 3);
  });

  it('bounds each try with a timeout', async () => {
    const rx = await receiver((n) => (n === 0 ? null : 200)); // the first request hangs
    server = rx.server;
    // Long enough that the first request reaches the receiver (and hangs there) even on a loaded machine.
    make({ timeoutMs: 500, retries: 1 });
    await reg.putCallback({ UUID: 'cb', Name: 'web', Reply: '127.0.0.1', Port: rx.port });
    await reg.put(svc());
    await reg.remove('u1');
    await settle(clock, notifier!);
    assert.equal(rx.hits.length, 2);
  });

  it('does nothing while disabled (another node is elected to fire)', async () => {
    const rx = await receiver(() => 200);
    server = rx.server;
    make({ enabled: false });
    await reg.putCallback({ UUID: 'cb', Name: 'web', Reply: '127.0.0.1', Port: rx.port });
    await reg.put(svc());
    await reg.remove('u1');
    await settle(clock, notifier!);
    assert.equal(rx.hits.length, 0);
  });
});

describe('callback helpers', () => {
  const s: StoredService = Object.freeze({ ...svc({ Host: 'h.example.com', Version: '1.0' }), expiresAt: 1 });
  it('matches on Name, filtering by the other fields only when set', () => {
    const base = { UUID: 'cb', Reply: '127.0.0.1', Port: 1 };
    assert.equal(callbackMatches({ ...base, Name: 'WEB' }, s), true);
    assert.equal(callbackMatches({ ...base, Name: 'db' }, s), false);
    assert.equal(callbackMatches({ ...base, Name: 'web', Region: 'east', Environment: 'production', Version: '1.0', Host: 'h.example.com' }, s), true);
    assert.equal(callbackMatches({ ...base, Name: 'web', Region: 'any', Version: '' }, s), true);
    assert.equal(callbackMatches({ ...base, Name: 'web', Version: '2.0' }, s), false);
    assert.equal(callbackMatches({ ...base, Name: 'web', Host: 'other' }, s), false);
  });

  it('builds the callback URL (brackets for IPv6)', () => {
    assert.equal(callbackUrl({ UUID: 'cb1', Name: 'w', Reply: '::1', Port: 80 }), 'http://[::1]:80/skydns/callbacks/cb1');
    assert.equal(callbackUrl({ UUID: 'cb1', Name: 'w', Reply: 'h.example', Port: 8 }), 'http://h.example:8/skydns/callbacks/cb1');
  });

  it('refuses Reply addresses outside allowNetworks', () => {
    const refused = (reply: string, nets?: string[]): boolean => {
      try {
        checkReplyAllowed(reply, nets);
        return false;
      } catch (e) {
        assert.ok(isSkyError(e, 'SKY_ERR_REGISTRY_INVALID') && e.path === 'Reply');
        return true;
      }
    };
    assert.equal(refused('8.8.8.8'), false);
    const nets = ['10.0.0.0/8', '127.0.0.1', 'fd00::/8'];
    assert.equal(refused('10.1.2.3', nets), false);
    assert.equal(refused('127.0.0.1', nets), false);
    assert.equal(refused('fd00::5', nets), false);
    assert.equal(refused('127.0.0.2', nets), true);
    assert.equal(refused('11.0.0.1', nets), true);
    assert.equal(refused('fe80::1', nets), true);
    assert.equal(refused('internal.example', nets), true);
  });
});
