/**
 * Registers services into a running SkyDNS over its HTTP API (PUT, PATCH) with autocannon
 * (the HTTP load tool; a bench-only dependency in bench/package.json, installed by
 * setup.sh): `concurrency` keep-alive connections, one request in flight on each, every
 * request built from the next item so each PUT carries its own UUID and body.
 */
import { createRequire } from 'node:module';

function loadAutocannon() {
  try {
    return createRequire(import.meta.url)('autocannon');
  } catch {
    throw new Error('autocannon is missing: run bench/setup.sh (or `npm --prefix bench install`)');
  }
}

/**
 * Sends one request per item (`make(item)` → { method, path, body, expect }), `concurrency`
 * in flight. Returns { count, seconds, perSecond, p50Ms, p99Ms }; throws when any answer is
 * not the expected status or a request failed.
 */
export async function drive(apiUrl, items, make, concurrency = 64) {
  const autocannon = loadAutocannon();
  const list = (Array.isArray(items) ? items : [...items]).map(make);
  if (list.length === 0) return { count: 0, seconds: 0, perSecond: NaN, p50Ms: NaN, p99Ms: NaN, maxMs: NaN };
  let next = 0;
  const statuses = new Map();
  const t0 = performance.now();
  const result = await autocannon({
    url: apiUrl,
    connections: Math.min(concurrency, list.length),
    amount: list.length,
    timeout: 30,
    requests: [
      {
        setupRequest(req) {
          const r = list[next++ % list.length];
          return { ...req, method: r.method, path: r.path, headers: { 'content-type': 'application/json' }, body: r.body === undefined ? undefined : JSON.stringify(r.body) };
        },
        onResponse(status) {
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        },
      },
    ],
  });
  const seconds = (performance.now() - t0) / 1000;
  const expect = list[0].expect;
  const bad = [...statuses].filter(([s]) => s !== expect);
  if (bad.length || result.errors || result.timeouts) {
    throw new Error(`${list[0].method}: statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${result.errors} errors, ${result.timeouts} timeouts (expected all ${expect})`);
  }
  const done = statuses.get(expect) ?? 0;
  if (done !== list.length) throw new Error(`${list[0].method}: ${done} of ${list.length} requests answered`);
  return { count: list.length, seconds, perSecond: list.length / seconds, p50Ms: result.latency.p50, p99Ms: result.latency.p99, maxMs: result.latency.max };
}

export const putAll = (apiUrl, insts, concurrency) =>
  drive(apiUrl, insts, (i) => ({ method: 'PUT', path: `/skydns/services/${i.uuid}`, body: i.body, expect: 201 }), concurrency);

export const patchAll = (apiUrl, insts, concurrency) =>
  drive(apiUrl, insts, (i) => ({ method: 'PATCH', path: `/skydns/services/${i.uuid}`, body: { TTL: i.body.TTL }, expect: 200 }), concurrency);
