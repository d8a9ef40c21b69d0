/**
 * One worker of a `workers` group (a node:cluster worker): a whole SkyApp —
 * the chain, the DNS listeners (cluster shares the primary's sockets, so every
 * worker serves the same addresses) and the plugins' HTTP listeners (cluster
 * hands each connection to one worker) — whose registry is a WorkerRegistry
 * mirroring the primary's. The primary decides everything else: which
 * Skyfile text to run, when to reload, when to stop.
 *
 * Signals: SIGINT and SIGHUP from a terminal reach the whole process group;
 * the worker ignores them and waits for the primary's word. SIGTERM sent to
 * a worker itself stops it gracefully. If the primary goes away the worker
 * stops too: without the primary there is no registry to write to and the
 * shared sockets belong to a group that no longer exists.
 */
import cluster from 'node:cluster';
import { dirname, resolve } from 'node:path';
import { SkyApp } from '../app.js';
import { parseSkyfile, type SkyConfig } from '../config/load.js';
import { SkyError } from '../errors.js';
import { createLogger } from '../logger.js';
import { Metrics } from '../metrics.js';
import { processChannel, type Channel, type SkyMessage } from '../registry/ipc-channel.js';
import { WorkerRegistry } from '../registry/ipc-mirror.js';
import { CONTROL, describeFailure, failureToWire } from './control.js';
import { groupMetrics } from './metrics.js';

/** Environment variable carrying the worker's slot (1..N, stable across re-forks). */
export const SLOT_ENV = 'SKYDNS_WORKER_SLOT';

function ask(channel: Channel, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => finish(new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', `no configuration from the primary process within ${timeoutMs} ms`)), timeoutMs);
    const finish = (v: string | Error): void => {
      clearTimeout(t);
      off();
      offClose();
      if (typeof v === 'string') resolve(v);
      else reject(v);
    };
    const off = channel.onMessage((m) => {
      if (m.sky === CONTROL && m.op === 'config' && typeof m.text === 'string') finish(m.text);
    });
    const offClose = channel.onClose(() => finish(new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the primary process is gone')));
    channel.send({ sky: CONTROL, op: 'config?' });
  });
}

/** Runs this process as a worker until the primary stops it; resolves to the exit code. */
export async function runWorker(file: string): Promise<number> {
  const channel = processChannel();
  const slot = Number(process.env[SLOT_ENV] ?? cluster.worker?.id ?? 0);
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  const baseDir = dirname(resolve(file));
  let cfg: SkyConfig;
  try {
    cfg = await parseSkyfile(await ask(channel, 10_000), { baseDir, file });
  } catch (err) {
    channel.send({ sky: CONTROL, op: 'failed', error: failureToWire(err) });
    return 1;
  }
  const logger = createLogger(cfg.log.level, cfg.log.format).child({ worker: slot });
  const metrics = new Metrics();
  groupMetrics(metrics, channel, slot, logger);
  const app = new SkyApp(cfg, {
    logger,
    metrics,
    registryFactory: (ctx) => new WorkerRegistry({ channel, clock: ctx.clock, logger: ctx.logger }),
  });
  try {
    await app.start();
  } catch (err) {
    logger.error({ err: describeFailure(err) }, 'worker could not start');
    await app.stop(0).catch(() => undefined);
    channel.send({ sky: CONTROL, op: 'failed', error: failureToWire(err) });
    return 1;
  }
  channel.send({ sky: CONTROL, op: 'started', addresses: app.server.addresses(), udp: app.server.udpPath, pid: process.pid });
  logger.info({ pid: process.pid, listen: app.server.addresses(), udp: app.server.udpPath }, 'worker serving');

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (why: string, graceMs: number): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ why, graceMs }, 'worker stopping: no new queries; finishing those in flight');
      app.stop(graceMs).then(
        () => resolveExit(0),
        (err: unknown) => {
          logger.error({ err }, 'error while the worker stopped');
          resolveExit(1);
        },
      );
    };
    let reloads: Promise<void> = Promise.resolve();
    channel.onMessage((m: SkyMessage) => {
      if (m.sky !== CONTROL) return;
      if (m.op === 'stop') stop('asked by the primary', typeof m.graceMs === 'number' ? m.graceMs : app.config.shutdown.graceMs);
      else if (m.op === 'reload' && typeof m.text === 'string') {
        const text = m.text;
        reloads = reloads.then(async () => {
          try {
            await app.reload(await parseSkyfile(text, { baseDir, file }));
            channel.send({ sky: CONTROL, op: 'reloaded', id: m.id });
          } catch (err) {
            logger.error({ err: describeFailure(err) }, 'worker could not apply the reloaded Skyfile; still serving the previous configuration');
            channel.send({ sky: CONTROL, op: 'reloaded', id: m.id, error: failureToWire(err) });
          }
        });
      }
    });
    channel.onClose(() => stop('the primary process is gone', app.config.shutdown.graceMs));
    process.once('SIGTERM', () => stop('SIGTERM', app.config.shutdown.graceMs));
  });
}
