/**
 * `skydns serve` with `workers` > 1: runs the primary until SIGTERM/SIGINT,
 * reloading on SIGHUP or a Skyfile change. The worker processes it forks run
 * `skydns serve` too and land in worker.ts (cli/serve.ts dispatches).
 */
import { availableParallelism } from 'node:os';
import { Reloader } from '../cli/reload.js';
import type { SkyConfig } from '../config/load.js';
import { createLogger } from '../logger.js';
import { describeUdpPath } from '../server/udp/choose.js';
import { Primary } from './primary.js';

/** The number of worker processes `workers` asks for ("auto": one per available CPU). */
export function workerCount(cfg: SkyConfig): number {
  return cfg.workers === 'auto' ? availableParallelism() : cfg.workers;
}

/** Runs the primary of a group of `count` workers with the validated `cfg` (parsed from `text`). */
export async function servePrimary(file: string, cfg: SkyConfig, text: string, count: number): Promise<number> {
  const logger = createLogger(cfg.log.level, cfg.log.format).child({ role: 'primary' });
  for (const w of cfg.warnings) logger.warn({ file }, w);
  const p = new Primary(cfg, text, count, logger);
  await p.start();
  const reloader = new Reloader(p, file, p.load);
  reloader.start();
  logger.info({ listen: p.addresses, workers: count, udp: p.udpPath, pid: process.pid }, `SkyDNS serving DNS on ${p.addresses.join(', ')} (UDP and TCP; UDP on ${describeUdpPath(p.udpPath)}) with ${count} workers`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      reloader.stop();
      const graceMs = p.config.shutdown.graceMs;
      logger.info({ signal, graceMs }, 'shutting down: workers finish the queries in flight');
      p.stop(graceMs).then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
