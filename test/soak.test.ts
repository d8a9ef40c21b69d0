/**
 * Short soak: registrations, heartbeats, deletes and expiries through the HTTP
 * API of one server, and DNS checks of every registration over UDP on
 * 127.0.0.1, with the server's clock injected and moved one second a round.
 * Zero errors and zero lost registrations; bench/soak.mjs is the long run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { startServer } from '../src/testing/server.js';
import { SoakDriver } from './soak/driver.js';

const ROUNDS = Number(process.env.SKYDNS_SOAK_ROUNDS ?? 40);

test(`soak: ${ROUNDS} rounds of registrations, heartbeats, deletes and expiries; nothing lost`, async () => {
  const clock = new ManualClock();
  const srv = await startServer(
    JSON.stringify({ chain: [{ api: { listen: '127.0.0.1:0' } }, { skydns: { zone: 'skydns.local' } }, { synth: { zone: 'skydns.local' } }] }),
    { clock },
  );
  const api = (srv.app.plugins.find((l) => l.name === 'api')!.plugin as unknown as { url(): string }).url();
  const d = new SoakDriver(
    { dnsHost: '127.0.0.1', dnsPort: srv.port, api, zone: 'skydns.local' },
    { now: () => clock.now(), advance: (ms) => clock.advance(ms), putsPerRound: 6, maxTracked: 60, ttl: 6, marginMs: 0, keepRounds: 12, extraQueries: 20, concurrency: 8 },
  );
  try {
    for (let i = 0; i < ROUNDS; i++) await d.round(1000);
    const s = d.stats;
    assert.deepEqual(s.lost, [], 'lost registrations');
    assert.deepEqual(s.stale, [], 'registrations still answered after delete or expiry');
    assert.deepEqual(s.dnsErrors, [], 'DNS errors');
    assert.deepEqual(s.httpErrors, [], 'HTTP errors');
    assert.equal(s.lateHeartbeats, 0);
    assert.equal(s.rounds, ROUNDS);
    assert.ok(s.puts >= ROUNDS * 3 && s.patches > 0 && s.deletes > 0, JSON.stringify(s));
    assert.ok(s.verifiedGone > ROUNDS, `expired and deleted registrations verified gone: ${s.verifiedGone}`);
    // the registry holds exactly what the driver believes is live
    const registry = await srv.app.registry();
    assert.equal(registry.list().length, d.liveCount());
    assert.equal(srv.app.server.queriesInFlight, 0);
  } finally {
    await d.close();
    await srv.stop();
  }
});
