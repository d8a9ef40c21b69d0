import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Rcode } from '../../src/dns/types.js';
import type { Next } from '../../src/plugin.js';
import { expectReply } from '../../src/testing/harness.js';
import { svc, zoneFixture, type ZoneFixture } from './zone-fixture.js';

/**
 * A registry that cannot vouch for its copy (an etcd mirror cut off from
 * etcd, src/registry/freshness.ts) gets no denial from the zone: SERVFAIL
 * where the answer would be NXDOMAIN or NODATA; positive answers unchanged.
 */
describe('skydns: no denial from a registry that cannot vouch', () => {
  let f: ZoneFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  async function cutOff(): Promise<{ f: ZoneFixture; set: (v: boolean) => void }> {
    f = await zoneFixture({ zone: 'skydns.local' }, [svc('1001')]);
    let vouch = true;
    (f.registry as unknown as { vouches: () => boolean }).vouches = () => vouch;
    return { f, set: (v) => (vouch = v) };
  }

  it('NXDOMAIN and NODATA become SERVFAIL, answers stay; vouching again restores the denials', async () => {
    const { f, set } = await cutOff();
    set(false);
    expectReply(await f.query('nothing.production.skydns.local', 'SRV'), { rcode: 'SERVFAIL' });
    expectReply(await f.query('web.production.skydns.local', 'TXT'), { rcode: 'SERVFAIL' });
    expectReply(await f.query('web.production.skydns.local', 'SRV'), { rcode: 'NOERROR', answer: ['web.production.skydns.local. 30 IN SRV 10 100 8080 1001.skydns.local.'] });
    set(true);
    expectReply(await f.query('nothing.production.skydns.local', 'SRV'), { rcode: 'NXDOMAIN', aa: true });
    expectReply(await f.query('web.production.skydns.local', 'TXT'), { rcode: 'NOERROR', answer: [] });
  });

  it('a negative answer from the rest of the chain (synth) becomes SERVFAIL too', async () => {
    const { f, set } = await cutOff();
    set(false);
    const nodata: Next = async () => ({ msg: { rcode: Rcode.NOERROR, answers: [] }, by: 'synth' });
    expectReply(await f.query('web.production.skydns.local', 'A', {}, nodata), { rcode: 'SERVFAIL' });
    // nothing after skydns: the chain's end (NODATA when vouching)
    expectReply(await f.query('web.production.skydns.local', 'A'), { rcode: 'SERVFAIL' });
    set(true);
    const r = await f.query('web.production.skydns.local', 'A', {}, nodata);
    assert.equal(r.rcode, 'NOERROR');
  });
});
