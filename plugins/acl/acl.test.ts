import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSkyError } from '../../src/errors.js';
import { Metrics } from '../../src/metrics.js';
import type { Next } from '../../src/plugin.js';
import { runPlugin, setupPlugin } from '../../src/testing/harness.js';
import acl from './index.js';

/** Stands for the rest of the chain: answers every query it is handed. */
const served: Next = async (req) => ({ msg: { rcode: 0, answers: [{ name: req!.qname, type: 'A', ttl: 5, data: '192.0.2.1' }] } });

async function outcome(opts: Record<string, unknown>, name: string, type: string, address: string): Promise<string> {
  const p = await setupPlugin(acl, opts);
  const r = await runPlugin(p, { name, type, remote: { address, family: address.includes(':') ? 'IPv6' : 'IPv4' } }, served);
  return r.dropped ? 'drop' : r.rcode === 'REFUSED' ? 'refuse' : r.answer.length ? 'pass' : r.rcode;
}

describe('acl', () => {
  const policy = {
    blocks: [
      {
        zones: ['skydns.local'],
        rules: [
          { action: 'allow', net: ['10.0.0.0/8', '2001:db8::/32'], type: ['AXFR', 'ANY'] },
          { action: 'drop', type: ['AXFR', 'IXFR'] },
          { action: 'refuse', type: ['ANY'] },
          { action: 'allow', net: ['192.0.2.0/24', '10.0.0.0/8', '2001:db8::/32'] },
          { action: 'refuse' },
        ],
      },
      { zones: ['internal.example', 'corp.example.'], rules: [{ action: 'drop', net: ['0.0.0.0/0', '::/0'] }] },
    ],
  };
  const cases: [string, string, string, string][] = [
    // name, type, client, outcome
    ['web.production.skydns.local', 'SRV', '10.1.2.3', 'pass'],
    ['web.production.skydns.local', 'SRV', '192.0.2.77', 'pass'],
    ['web.production.skydns.local', 'SRV', '198.51.100.1', 'refuse'],
    ['Web.Production.SKYDNS.local', 'A', '2001:db8:1::5', 'pass'],
    ['web.production.skydns.local', 'A', '2001:db9::5', 'refuse'],
    ['skydns.local', 'AXFR', '10.0.0.1', 'pass'],
    ['skydns.local', 'AXFR', '192.0.2.1', 'drop'],
    ['skydns.local', 'IXFR', '10.0.0.1', 'drop'],
    ['web.production.skydns.local', 'ANY', '192.0.2.1', 'refuse'],
    ['web.production.skydns.local', 'ANY', '10.9.9.9', 'pass'],
    ['web.production.skydns.local', 'A', '::ffff:192.0.2.9', 'pass'],
    ['db.internal.example', 'A', '10.0.0.1', 'drop'],
    ['corp.example', 'TXT', '2001:db8::1', 'drop'],
    ['notskydns.local', 'A', '198.51.100.1', 'pass'],
    ['example.org', 'ANY', '198.51.100.1', 'pass'],
  ];
  for (const [name, type, client, want] of cases) {
    test(`${name} ${type} from ${client}: ${want}`, async () => {
      assert.equal(await outcome(policy, name, type, client), want);
    });
  }

  test('top-level rules apply to every name unless zones narrow them', async () => {
    const all = { rules: [{ action: 'refuse', net: ['198.51.100.0/24'] }] };
    assert.equal(await outcome(all, 'example.org', 'A', '198.51.100.3'), 'refuse');
    assert.equal(await outcome(all, 'example.org', 'A', '198.51.101.3'), 'pass');
    const narrowed = { zones: ['skydns.local'], rules: [{ action: 'refuse', net: ['198.51.100.0/24'] }] };
    assert.equal(await outcome(narrowed, 'example.org', 'A', '198.51.100.3'), 'pass');
    assert.equal(await outcome(narrowed, 'a.skydns.local', 'A', '198.51.100.3'), 'refuse');
  });

  test('a block with no matching rule falls through to the next block that covers the name', async () => {
    const o = {
      blocks: [
        { zones: ['skydns.local'], rules: [{ action: 'allow', net: ['10.0.0.0/8'] }] },
        { zones: ['.'], rules: [{ action: 'refuse' }] },
      ],
    };
    assert.equal(await outcome(o, 'a.skydns.local', 'A', '10.0.0.1'), 'pass');
    assert.equal(await outcome(o, 'a.skydns.local', 'A', '192.0.2.1'), 'refuse');
    assert.equal(await outcome(o, 'example.org', 'A', '10.0.0.1'), 'refuse');
  });

  test('REFUSED carries the question and no records', async () => {
    const p = await setupPlugin(acl, { rules: [{ action: 'refuse' }] });
    const r = await runPlugin(p, { name: 'MiXeD.example', type: 'A', edns: { udpSize: 1232 } }, served);
    assert.equal(r.rcode, 'REFUSED');
    assert.equal(r.msg!.questions[0]!.name, 'MiXeD.example');
    assert.deepEqual([r.answer, r.ns, r.extra], [[], [], []]);
  });

  test('counts matched queries by action', async () => {
    const metrics = new Metrics();
    const p = await setupPlugin(acl, { rules: [{ action: 'drop', type: ['ANY'] }, { action: 'allow', net: ['127.0.0.0/8'] }] }, { metrics });
    await runPlugin(p, { name: 'a.example', type: 'ANY' }, served);
    await runPlugin(p, { name: 'a.example', type: 'A' }, served);
    await runPlugin(p, { name: 'a.example', type: 'A', remote: { address: '192.0.2.1' } }, served);
    const text = await metrics.registry.metrics();
    assert.match(text, /skydns_acl_requests_total\{action="drop"\} 1/);
    assert.match(text, /skydns_acl_requests_total\{action="allow"\} 1/);
  });

  test('bad options fail setup with the key path', async () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ rules: [{ action: 'refuse', net: ['10.0.0.0/33'] }] }, 'chain[0].acl.rules[0].net[0]'],
      [{ blocks: [{ zones: ['a.example'], rules: [{ action: 'allow' }, { action: 'drop', type: ['NOPE'] }] }] }, 'chain[0].acl.blocks[0].rules[1].type[0]'],
      [{ zones: ['a.example'] }, 'chain[0].acl.zones'],
      [{}, 'chain[0].acl'],
    ];
    for (const [o, path] of bad) await assert.rejects(setupPlugin(acl, o), (e: unknown) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID') && e.path === path, path);
    await assert.rejects(setupPlugin(acl, { rules: [{ action: 'block' }] }), (e: unknown) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
    await assert.rejects(setupPlugin(acl, { rules: [{ action: 'drop', nets: ['10.0.0.0/8'] }] }), (e: unknown) => isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
  });
});
