/**
 * The watch contract on the other backends: a worker's mirror of the
 * primary's registry (IPC over a real MessageChannel) and etcd (a real
 * single-member etcd on loopback). The embedded backend runs it in
 * watch.test.ts; etcd leader failover while watching is in test/watch.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import type { ManualClock } from '../../clock.js';
import { silentLogger } from '../../logger.js';
import { EtcdCluster, etcdSkip } from '../../testing/etcd.js';
import { EmbeddedRegistry } from '../embedded.js';
import { EtcdRegistry } from '../etcd.js';
import { portChannel } from '../ipc-channel.js';
import { RegistryHost } from '../ipc-host.js';
import { WorkerRegistry } from '../ipc-mirror.js';
import { watchContract } from './watch.test-suite.js';

const root = mkdtempSync(join(tmpdir(), 'skydns-watch-ipc-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

watchContract('workers (mirror over IPC)', async (clock: ManualClock) => {
  const real = new EmbeddedRegistry({ path: join(root, `r${n++}`), clock, logger: silentLogger, fsync: false });
  await real.start();
  const host = new RegistryHost(real, { logger: silentLogger, pollMs: 20 });
  const mc = new MessageChannel();
  host.attach(portChannel(mc.port1));
  const w = new WorkerRegistry({ channel: portChannel(mc.port2), clock, logger: silentLogger });
  await w.start();
  const close = w.close.bind(w);
  w.close = async () => {
    await close();
    host.close();
    mc.port1.close();
    mc.port2.close();
    await real.close();
  };
  return w;
});

const skip = etcdSkip('src/registry/watch/watch-backends.test.js', ['watch contract: etcd (3 tests)']);
let cluster: EtcdCluster | undefined;
after(async () => cluster?.stop());

if (skip) describe('watch contract: etcd', () => it('the shared watch suite', { skip }, () => undefined));
else {
  watchContract('etcd', async (clock: ManualClock) => {
    cluster ??= await EtcdCluster.start(1);
    const r = new EtcdRegistry({ endpoints: cluster.endpoints, prefix: `/w${process.pid}-${n++}`, clock, logger: silentLogger });
    await r.start();
    return r;
  });
}
