import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compose, isPromise } from './chain.js';
import { Rcode } from './dns/types.js';
import { DROP, type Plugin, type Reply } from './plugin.js';
import { makeRequest } from './testing/harness.js';

const answer = (rcode: number): Plugin => ({ serveDNS: () => ({ msg: { rcode } }) });
const pass: Plugin = { serveDNS: (_req, next) => next() };
const httpOnly: Plugin = { start: async () => undefined };

function run(plugins: Plugin[]): { out: Reply | Promise<Reply>; errors: [string, unknown][] } {
  const errors: [string, unknown][] = [];
  const handler = compose(plugins.map((plugin, i) => ({ name: `p${i}`, plugin })), (name, err) => errors.push([name, err]));
  return { out: handler(makeRequest({ name: 'a.test', type: 'A' })), errors };
}

test('a chain of synchronous plugins answers without a promise, and the answering plugin is named', () => {
  const { out } = run([pass, pass, answer(Rcode.NXDOMAIN)]);
  assert.equal(isPromise(out), false);
  assert.equal((out as Reply & { msg: { rcode: number } }).msg.rcode, Rcode.NXDOMAIN);
  assert.equal((out as Reply).by, 'p2');
});

test('plugins without serveDNS are left out: the next one is asked and falling off the end is REFUSED', () => {
  const { out } = run([httpOnly, answer(Rcode.NOERROR)]);
  assert.equal((out as Reply).by, 'p1');
  const fell = run([httpOnly, pass]).out as Reply & { msg: { rcode: number } };
  assert.equal(isPromise(fell), false);
  assert.equal(fell.msg.rcode, Rcode.REFUSED);
  assert.equal(fell.by, undefined);
});

test('one asynchronous plugin makes the reply a promise for the plugins before it', async () => {
  const slow: Plugin = { serveDNS: async () => ({ msg: { rcode: Rcode.NOERROR } }) };
  const seen: Reply[] = [];
  const observer: Plugin = {
    async serveDNS(_req, next) {
      const r = await next();
      seen.push(r);
      return r;
    },
  };
  const { out } = run([observer, pass, slow]);
  assert.equal(isPromise(out), true);
  assert.equal((await out).by, 'p2');
  assert.equal(seen.length, 1);
});

test('a plugin that throws synchronously, rejects, or returns no reply gets SERVFAIL at its own position', async () => {
  const thrower: Plugin = { serveDNS: () => { throw new Error('boom'); } };
  const rejecter: Plugin = { serveDNS: async () => { throw new Error('late boom'); } };
  const empty: Plugin = { serveDNS: () => undefined as unknown as Reply };
  for (const [bad, async] of [[thrower, false], [rejecter, true], [empty, false]] as const) {
    const { out, errors } = run([pass, bad]);
    assert.equal(isPromise(out), async);
    const r = (await out) as Reply & { msg: { rcode: number } };
    assert.equal(r.msg.rcode, Rcode.SERVFAIL);
    assert.equal(r.by, 'p1');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]![0], 'p1');
  }
});

test('DROP (frozen) passes through unclaimed', () => {
  const { out } = run([pass, { serveDNS: () => DROP }]);
  assert.equal(out, DROP);
});
