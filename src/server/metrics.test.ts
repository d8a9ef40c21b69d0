import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../metrics.js';
import { serverMetrics } from './metrics.js';
import type { DnsServer } from './server.js';

test('skydns_udp_io names the serving path; skydns_udp_dropped_replies_total follows the sockets\' count', async () => {
  const m = new Metrics();
  const fake = { udpPath: undefined as string | undefined, udpDropped: 0 };
  serverMetrics(m, fake as unknown as DnsServer);
  let text = await m.registry.metrics();
  assert.doesNotMatch(text, /skydns_udp_io\{/, 'nothing before start');
  fake.udpPath = 'native';
  fake.udpDropped = 5;
  text = await m.registry.metrics();
  assert.match(text, /^skydns_udp_io\{path="native"\} 1$/m);
  assert.match(text, /^skydns_udp_dropped_replies_total 5$/m);
  fake.udpDropped = 7;
  assert.match(await m.registry.metrics(), /^skydns_udp_dropped_replies_total 7$/m);
});
