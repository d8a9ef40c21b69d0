/**
 * What the forward plugin's unit tests share: a real UDP/TCP upstream on
 * loopback serving RECORDS, and a started Forwarder on an injected clock,
 * both stopped after the test file.
 */
import { after } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import type { SetupContext } from '../../src/plugin.js';
import { setupPlugin } from '../../src/testing/harness.js';
import { startUpstream, type TestUpstream, type UpstreamOptions } from '../../src/testing/upstream.js';
import type { Forwarder } from './forward.js';
import forward from './index.js';

export const A = 'www.example.org. 300 IN A 192.0.2.1';

export const RECORDS = [
  A,
  'www.example.org. 300 IN AAAA 2001:db8::1',
  'big.example.org. 60 IN TXT "' + 'x'.repeat(200) + '" "' + 'y'.repeat(200) + '"',
  'big.example.org. 60 IN TXT "' + 'z'.repeat(200) + '"',
];

/** `upstream()` and `fwd()` for one test file; `defaults` go under every fwd()'s options. */
export function forwardFixture(defaults: Record<string, unknown> = {}) {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  return {
    async upstream(o: UpstreamOptions = {}): Promise<TestUpstream> {
      const up = await startUpstream({ records: RECORDS, ...o });
      cleanups.push(() => up.stop());
      return up;
    },
    async fwd(opts: Record<string, unknown>, ctx: Partial<SetupContext> = {}): Promise<{ p: Forwarder; clock: ManualClock }> {
      const clock = new ManualClock();
      const p = (await setupPlugin(forward, { ...defaults, ...opts }, { clock, ...ctx })) as Forwarder;
      await p.start();
      cleanups.push(() => p.stop());
      return { p, clock };
    },
  };
}
