/**
 * The registration API as a user meets it: a whole server (embedded registry
 * in a temp dir, api on 127.0.0.1 port 0), spoken to over real sockets by the
 * TypeScript client, raw HTTP, and a local callback receiver.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ApiPlugin } from '../plugins/api/index.js';
import { getService, heartbeat, isSkyApiError, putCallback, putService, queryServices, regions, environments, register, removeService, SkyApiError, type Service } from '../src/client/index.js';
import { ManualClock } from '../src/clock.js';
import { startServer, type TestServer } from '../src/testing/server.js';

const svc = (over: Partial<Service> = {}): Service => ({ UUID: 'web1', Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 8080, TTL: 30, ...over });

async function boot(clock: ManualClock, api: Record<string, unknown> = {}): Promise<{ srv: TestServer; plugin: ApiPlugin; url: string }> {
  const srv = await startServer(JSON.stringify({ chain: [{ api: { listen: '127.0.0.1:0', ...api } }] }), { clock });
  const plugin = srv.app.plugins.find((l) => l.name === 'api')!.plugin as ApiPlugin;
  return { srv, plugin, url: plugin.url() };
}

/** Sends raw bytes on a fresh connection; resolves with everything the server wrote before closing. */
function raw(url: string, bytes: string, endAfter = true): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: hostname, port: Number(port) }, () => {
      sock.write(bytes);
      if (endAfter) sock.end();
    });
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d) => (out += d));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
  });
}

describe('api over HTTP: the plain client functions', () => {
  const clock = new ManualClock();
  let s: Awaited<ReturnType<typeof boot>>;
  before(async () => {
    s = await boot(clock, { secret: 'tok' });
  });
  after(() => s.srv.stop());
  const o = { secret: 'tok' };

  it('register() without the secret rejects with the 401, saying to pass it', async () => {
    await assert.rejects(register(s.url, svc({ UUID: 'ns' }), { clock: new ManualClock() }), (e) => {
      assert.ok(isSkyApiError(e, 401));
      assert.match(e.message, /^cannot register ns: .*pass `secret`/);
      return true;
    });
  });

  it('put, get, heartbeat, query, counts, remove', async () => {
    const put = await putService(s.url, svc(), o);
    assert.equal(put.Expires, new Date(clock.now() + 30_000).toISOString());
    clock.advance(10_000);
    assert.equal((await getService(s.url, 'web1', o)).TTL, 20);
    assert.equal((await heartbeat(s.url, 'web1', 45, o)).TTL, 45);
    await putService(s.url, svc({ UUID: 'web2', Region: 'west' }), o);
    assert.deepEqual((await queryServices(s.url, 'east.any.web.production', o)).map((x) => x.UUID), ['web1']);
    assert.deepEqual((await queryServices(s.url, undefined, o)).map((x) => x.UUID), ['web1', 'web2']);
    assert.deepEqual(await regions(s.url, o), { east: 1, west: 1 });
    assert.deepEqual(await environments(s.url, o), { production: 2 });
    assert.equal((await removeService(s.url, 'web1', o)).UUID, 'web1');
    await removeService(s.url, 'web2', o);
    assert.deepEqual(await queryServices(s.url, '', o), []);
  });

  it('errors are SkyApiErrors with the HTTP status, the server code and the field', async () => {
    await assert.rejects(getService(s.url, 'nope', o), (e) => isSkyApiError(e, 404) && e.code === 'SKY_ERR_REGISTRY_NOT_FOUND');
    await assert.rejects(putService(s.url, svc({ Port: 0 }), o), (e) => isSkyApiError(e, 400) && e.code === 'SKY_ERR_REGISTRY_INVALID' && e.path === 'Port');
    await assert.rejects(queryServices(s.url, 'a..b', o), (e) => isSkyApiError(e, 400) && e.path === 'query');
    await assert.rejects(getService(s.url, 'web1'), (e) => isSkyApiError(e, 401) && e.code === 'SKY_ERR_API_UNAUTHORIZED');
    await putService(s.url, svc({ UUID: 'dup' }), o);
    await assert.rejects(putService(s.url, svc({ UUID: 'dup' }), o), (e) => isSkyApiError(e, 409) && e.code === 'SKY_ERR_REGISTRY_EXISTS');
    await removeService(s.url, 'dup', o);
  });

  it('an unreachable server is status 0, SKY_ERR_API_UNREACHABLE', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    await assert.rejects(getService(`http://127.0.0.1:${port}`, 'x'), (e) => e instanceof SkyApiError && e.status === 0 && e.code === 'SKY_ERR_API_UNREACHABLE');
    await assert.rejects(getService('ftp://x', 'x'), TypeError);
  });
});

describe('api over HTTP: register() keeps a service alive', () => {
  const clock = new ManualClock();
  let s: Awaited<ReturnType<typeof boot>>;
  before(async () => {
    s = await boot(clock);
  });
  after(() => s.srv.stop());

  /** A fetch that records the methods it sent. */
  function recording(): { calls: string[]; fetch: typeof fetch } {
    const calls: string[] = [];
    return { calls, fetch: (input, init) => (calls.push(init?.method ?? 'GET'), fetch(input, init)) };
  }

  it('heartbeats with PATCH at a third of the TTL, on its clock only', async () => {
    const clientClock = new ManualClock(clock.now());
    const r = recording();
    const reg = await register(s.url, svc({ UUID: 'hb' }), { clock: clientClock, fetch: r.fetch });
    assert.deepEqual(r.calls, ['PUT']);
    assert.equal(reg.intervalMs, 10_000);
    clientClock.advance(9_999);
    assert.deepEqual(r.calls, ['PUT'], 'no heartbeat before the interval');
    clock.advance(10_000);
    clientClock.advance(1);
    await reg.beat(); // joins the heartbeat the timer started
    assert.deepEqual(r.calls, ['PUT', 'PATCH']);
    assert.equal(reg.current?.TTL, 30);
    assert.equal(s.srv.app.registryIfOpen!.get('hb')!.expiresAt, clock.now() + 30_000, 'the server extended the record');
    clientClock.advance(10_000);
    await reg.beat();
    assert.deepEqual(r.calls, ['PUT', 'PATCH', 'PATCH']);
    await reg.close();
    assert.deepEqual(r.calls, ['PUT', 'PATCH', 'PATCH', 'DELETE']);
    assert.equal(s.srv.app.registryIfOpen!.get('hb'), undefined, 'close deregistered');
    assert.equal(clientClock.timers, 0, 'no timer left behind');
    await reg.close(); // idempotent
    assert.equal(r.calls.length, 4);
  });

  it('re-registers with PUT after a 404 (the server lost or expired the record)', async () => {
    const clientClock = new ManualClock(clock.now());
    const r = recording();
    const reg = await register(s.url, svc({ UUID: 'rr', TTL: 3 }), { clock: clientClock, fetch: r.fetch });
    clock.advance(3_000); // the record expires on the server
    assert.equal(s.srv.app.registryIfOpen!.get('rr'), undefined);
    clientClock.advance(1_000);
    await reg.beat();
    assert.deepEqual(r.calls, ['PUT', 'PATCH', 'PUT']);
    assert.equal(reg.reRegistrations, 1);
    assert.equal(reg.lastError, undefined);
    assert.equal(s.srv.app.registryIfOpen!.get('rr')?.Port, 8080, 'registered again');
    await s.srv.app.registryIfOpen!.remove('rr'); // and once more: removed behind its back
    clientClock.advance(1_000);
    await reg.beat();
    assert.equal(reg.reRegistrations, 2);
    await reg.close();
    assert.equal(s.srv.app.registryIfOpen!.get('rr'), undefined);
  });

  it('failed heartbeats are reported and do not stop the loop', async () => {
    const clientClock = new ManualClock(clock.now());
    const errors: SkyApiError[] = [];
    let down = false;
    const flaky: typeof fetch = (input, init) => (down ? Promise.reject(new Error('connection refused')) : fetch(input, init));
    const reg = await register(s.url, svc({ UUID: 'fl' }), { clock: clientClock, fetch: flaky, onError: (e) => errors.push(e) });
    down = true;
    clientClock.advance(10_000);
    await reg.beat();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.status, 0);
    assert.equal(reg.lastError?.code, 'SKY_ERR_API_UNREACHABLE');
    assert.equal(clientClock.timers, 1, 'the next heartbeat is scheduled');
    down = false;
    clientClock.advance(10_000);
    await reg.beat();
    assert.equal(reg.lastError, undefined);
    await reg.close();
  });

  it('register() takes over its own UUID at once (a restarted service); replace: false gets the 409, saying how to take it over', async () => {
    const clientClock = new ManualClock(clock.now());
    const crashed = await register(s.url, svc({ UUID: 'rs', Host: '10.0.0.1', TTL: 300 }), { clock: clientClock });
    // The process "crashes": no close(), the record stays live for 300 s.
    await assert.rejects(register(s.url, svc({ UUID: 'rs', Host: '10.0.0.2' }), { clock: clientClock, replace: false }), (e) => {
      assert.ok(isSkyApiError(e, 409));
      assert.equal(e.code, 'SKY_ERR_REGISTRY_EXISTS');
      assert.match(e.message, /^cannot register rs: .*replace: true/);
      return true;
    });
    const back = await register(s.url, svc({ UUID: 'rs', Host: '10.0.0.2' }), { clock: clientClock });
    assert.equal(s.srv.app.registryIfOpen!.get('rs')?.Host, '10.0.0.2');
    assert.equal(back.current?.TTL, 30);
    await back.close();
    void crashed; // its heartbeats would now take the new record's place too: a crashed process sends none
    assert.equal(s.srv.app.registryIfOpen!.get('rs'), undefined);
  });

  it('register() rejects when the first PUT is refused', async () => {
    await assert.rejects(register(s.url, svc({ UUID: 'bad', Port: 70000 })), (e) => isSkyApiError(e, 400) && e.path === 'Port');
    await assert.rejects(register(s.url, svc({ UUID: 'hf' }), { heartbeatFraction: 0 }), TypeError);
    assert.equal(s.srv.app.registryIfOpen!.get('hf'), undefined, 'nothing was sent');
  });
});

describe('api over HTTP: callbacks end to end', () => {
  const clock = new ManualClock();
  let s: Awaited<ReturnType<typeof boot>>;
  const received: Array<{ method: string; url: string; body: { UUID: string } }> = [];
  const receiver = createServer((req: IncomingMessage, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, body: JSON.parse(b) });
      res.end();
    });
  });
  before(async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    s = await boot(clock, { callbacks: { allowNetworks: ['127.0.0.0/8'], timeoutMs: 5000 } });
  });
  after(async () => {
    await s.srv.stop();
    receiver.close();
  });

  it('a DELETE and an expiry each reach the receiver exactly once; a non-matching removal does not', async () => {
    const port = (receiver.address() as { port: number }).port;
    await putCallback(s.url, { UUID: 'cb1', Name: 'web', Environment: 'production', Reply: '127.0.0.1', Port: port });
    await assert.rejects(putCallback(s.url, { UUID: 'cb2', Name: 'web', Reply: '192.0.2.1', Port: port }), (e) => isSkyApiError(e, 403));
    await putService(s.url, svc({ UUID: 'gone' }));
    await putService(s.url, svc({ UUID: 'other', Environment: 'staging' }));
    await putService(s.url, svc({ UUID: 'short', TTL: 5 }));
    await removeService(s.url, 'gone');
    await removeService(s.url, 'other');
    await s.plugin.callbacks!.idle();
    assert.deepEqual(received.map((r) => [r.method, r.url, r.body.UUID]), [['DELETE', '/skydns/callbacks/cb1', 'gone']]);
    clock.advance(5_000); // the sweeper removes "short"
    await s.srv.app.registryIfOpen!.flush();
    await s.plugin.callbacks!.idle();
    assert.deepEqual(received.map((r) => r.body.UUID), ['gone', 'short']);
  });
});

describe('api over HTTP: SkyDNS 1 clients and common HTTP libraries', () => {
  const clock = new ManualClock();
  let s: Awaited<ReturnType<typeof boot>>;
  before(async () => {
    s = await boot(clock);
  });
  after(() => s.srv.stop());

  /** One raw request on its own connection: the status line's code and the parsed JSON body. */
  async function send(method: string, path: string, headers: string, body = ''): Promise<[number, Record<string, unknown>]> {
    const r = await raw(s.url, `${method} ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${headers}\r\n${body}`, false);
    const m = /^HTTP\/1\.1 (\d{3}) [^]*?\r\n\r\n([^]*)$/.exec(r);
    assert.ok(m, JSON.stringify(r.slice(0, 300)));
    return [Number(m[1]), m[2] ? (JSON.parse(m[2]) as Record<string, unknown>) : {}];
  }

  it('PUT of the whole Go struct, PATCH of the whole document, regions in the registered spelling', async () => {
    // Byte for byte what SkyDNS 1's client.Add sends (json.NewEncoder: every field, a trailing newline, no Content-Type).
    const go = '{"UUID":"","Name":"TestService","Version":"1.0.0","Environment":"Production","Region":"Test","Host":"localhost","Port":9000,"TTL":4,"Expires":"0001-01-01T00:00:00Z","NoExpire":false}\n';
    const [put] = await send('PUT', '/skydns/services/123', `Content-Length: ${go.length}\r\n`, go);
    assert.equal(put, 201);
    const doc = go.replace('"TTL":4', '"TTL":25');
    const [patch, patched] = await send('PATCH', '/skydns/services/123', `Content-Length: ${doc.length}\r\n`, doc);
    assert.equal(patch, 200);
    assert.equal(patched.TTL, 25);
    assert.deepEqual(await environments(s.url), { Production: 1 });
    assert.deepEqual(await regions(s.url), { Test: 1 });
  });

  it('Content-Type: application/json with an empty body (Content-Length: 0 or an empty chunked body) is no body', async () => {
    await putService(s.url, svc({ UUID: 'e1' }));
    const json = 'Content-Type: application/json\r\n';
    assert.equal((await send('GET', '/skydns/services/e1', `${json}Content-Length: 0\r\n`))[0], 200);
    assert.equal((await send('PATCH', '/skydns/services/e1', `${json}Content-Length: 0\r\n`))[0], 200);
    assert.equal((await send('PATCH', '/skydns/services/e1', `${json}Transfer-Encoding: chunked\r\n`, '0\r\n\r\n'))[0], 200);
    assert.equal((await send('DELETE', '/skydns/services/e1', `${json}Transfer-Encoding: chunked\r\n`, '0\r\n\r\n'))[0], 200);
    assert.equal(s.srv.app.registryIfOpen!.get('e1'), undefined);
  });
});

describe('api over HTTP: malformed traffic never takes the server down', () => {
  const clock = new ManualClock();
  let s: Awaited<ReturnType<typeof boot>>;
  before(async () => {
    s = await boot(clock, { bodyLimit: 2048 });
  });
  after(() => s.srv.stop());

  it('garbage, truncated, oversized and badly encoded requests get a JSON 4xx; the API keeps serving', async () => {
    /** The status and the `code` of a raw HTTP answer. */
    const answer = (r: string): [number, string] => {
      const m = /^HTTP\/1\.1 (\d{3}) [^]*?\r\n\r\n([^]*)$/.exec(r);
      assert.ok(m, `an HTTP answer: ${JSON.stringify(r.slice(0, 200))}`);
      return [Number(m[1]), (JSON.parse(m[2]!) as { code: string }).code];
    };
    const head = 'HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nConnection: close\r\n';
    const bad: Array<[string, number, string]> = [
      ['NOT HTTP AT ALL\r\n\r\n', 400, 'SKY_ERR_API_BAD_REQUEST'],
      [`PUT /skydns/services/x ${head}Content-Length: 5000\r\n\r\n${'x'.repeat(5000)}`, 413, 'SKY_ERR_API_BODY_TOO_LARGE'],
      [`PUT /skydns/services/x ${head}Content-Length: 10\r\n\r\n{"Na`, 400, 'SKY_ERR_API_BAD_REQUEST'],
      [`PUT /skydns/services/x ${head}Content-Length: 9\r\n\r\n{"Name":1`, 400, 'SKY_ERR_API_BAD_REQUEST'],
      [`PUT /skydns/services/x ${head}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, 400, 'SKY_ERR_API_BAD_REQUEST'],
      [`GET /skydns/services/%zz ${head}\r\n`, 400, 'SKY_ERR_API_BAD_REQUEST'],
      [`GET /skydns/services/ ${head}X-Big: ${'h'.repeat(20_000)}\r\n\r\n`, 431, 'SKY_ERR_API_BAD_REQUEST'],
    ];
    for (const [bytes, status, code] of bad) assert.deepEqual(answer(await raw(s.url, bytes)), [status, code], bytes.slice(0, 60));
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => raw(s.url, `PUT /skydns/services/g${i} ${head}Transfer-Encoding: chunked\r\n\r\nzz\r\n`)));
    for (const r of many) assert.deepEqual(answer(r), [400, 'SKY_ERR_API_BAD_REQUEST']);
    assert.equal(s.srv.app.registryIfOpen!.list().length, 0, 'none of it was stored');
    const ok = await putService(s.url, svc({ UUID: 'alive' }));
    assert.equal(ok.UUID, 'alive');
    assert.equal((await getService(s.url, 'alive')).Port, 8080);
  });
});
