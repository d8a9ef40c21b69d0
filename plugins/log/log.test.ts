import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rcode } from '../../src/dns/types.js';
import { runPlugin, setupPlugin } from '../../src/testing/harness.js';
import log from './index.js';
import { classify, createLogHandler, DEFAULT_FORMAT } from './log.js';

function capture(opts: { format?: string; class?: ('all' | 'success' | 'denial' | 'error')[] }) {
  const lines: string[] = [];
  const plugin = createLogHandler({ format: opts.format ?? DEFAULT_FORMAT, class: opts.class ?? ['all'] }, (l) => lines.push(l));
  return { lines, plugin };
}

const answer = (rcode: number, n = 1) => () =>
  Promise.resolve({ msg: { rcode, answers: Array.from({ length: n }, () => ({ name: 'web.skydns.local', type: 'A', ttl: 5, data: '192.0.2.1' })) } });

test('one line per query in the documented format', async () => {
  const { lines, plugin } = capture({});
  const r = await runPlugin(plugin, { name: 'Web.skydns.local', type: 'A', id: 77, remote: { address: '127.0.0.9', port: 5353 } }, answer(Rcode.NOERROR));
  assert.equal(r.rcode, 'NOERROR');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^127\.0\.0\.9:5353 - 77 "A IN Web\.skydns\.local\. udp \d+ false 512" NOERROR rd \d+ 0\.000000s$/);
});

test('lines are written when the reply is written, with rcode, sizes and duration', async () => {
  const { lines, plugin } = capture({});
  const { makeRequest, readReply } = await import('../../src/testing/harness.js');
  const req = makeRequest({ name: 'Web.skydns.local', type: 'A', id: 77, remote: { address: '127.0.0.9', port: 5353 } });
  const reply = await plugin.serveDNS!(req, answer(Rcode.NOERROR));
  const out = readReply(req, reply);
  req.responded({ rcode: 0, size: out.wire!.length, truncated: false, dropped: false, answerCount: 1, durationMs: 1.5, answeredBy: 'x' }, (e) => { throw e; });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^127\.0\.0\.9:5353 - 77 "A IN Web\.skydns\.local\. udp \d+ false 512" NOERROR rd \d+ 0\.001500s$/);
});

test('class filter: denial and error', () => {
  const base = { size: 10, truncated: false, dropped: false, durationMs: 0, answeredBy: undefined };
  assert.equal(classify({ ...base, rcode: 3, answerCount: 0 }), 'denial');
  assert.equal(classify({ ...base, rcode: 0, answerCount: 0 }), 'denial');
  assert.equal(classify({ ...base, rcode: 0, answerCount: 2 }), 'success');
  assert.equal(classify({ ...base, rcode: 2, answerCount: 0 }), 'error');
  assert.equal(classify({ ...base, rcode: 5, answerCount: 0 }), 'error');
});

test('only the selected classes are logged', async () => {
  const { makeRequest } = await import('../../src/testing/harness.js');
  const { lines, plugin } = capture({ class: ['error'], format: '{name} {rcode}' });
  for (const [name, rcode, n] of [['ok.test', 0, 1], ['nx.test', 3, 0], ['fail.test', 2, 0]] as const) {
    const req = makeRequest({ name, type: 'A' });
    await plugin.serveDNS!(req, answer(rcode, n));
    req.responded({ rcode, size: 1, truncated: false, dropped: false, answerCount: n, durationMs: 0, answeredBy: undefined }, () => undefined);
  }
  assert.deepEqual(lines, ['fail.test. SERVFAIL']);
});

test('factory schema fills defaults and rejects unknown classes', async () => {
  await setupPlugin(log, {});
  await assert.rejects(setupPlugin(log, { class: ['loud'] }));
  await assert.rejects(setupPlugin(log, { colour: 'red' }));
});
