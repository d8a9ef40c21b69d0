/**
 * Registers services into a running SkyDNS over its HTTP API (PUT, PATCH), a bounded
 * number of requests in flight on keep-alive connections, as bench/registry.mjs does.
 */
import { Agent, request } from 'node:http';

function send(agent, base, method, path, body) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: base.hostname, port: base.port, method, path, timeout: 30000, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Sends one request per item (`make(item)` → { method, path, body, expect }), `concurrency`
 * in flight. Returns { count, seconds, perSecond }.
 */
export async function drive(apiUrl, items, make, concurrency = 64) {
  const base = new URL(apiUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const list = Array.isArray(items) ? items : [...items];
  let next = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, list.length) }, async () => {
        while (next < list.length) {
          const { method, path, body, expect } = make(list[next++]);
          const status = await send(agent, base, method, path, body);
          if (status !== expect) throw new Error(`${method} ${path}: HTTP ${status}, expected ${expect}`);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { count: list.length, seconds, perSecond: list.length / seconds };
}

export const putAll = (apiUrl, insts, concurrency) =>
  drive(apiUrl, insts, (i) => ({ method: 'PUT', path: `/skydns/services/${i.uuid}`, body: i.body, expect: 201 }), concurrency);

export const patchAll = (apiUrl, insts, concurrency) =>
  drive(apiUrl, insts, (i) => ({ method: 'PATCH', path: `/skydns/services/${i.uuid}`, body: { TTL: i.body.TTL }, expect: 200 }), concurrency);
