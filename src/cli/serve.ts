import cluster from 'node:cluster';
import { setFlagsFromString } from 'node:v8';
import { dirname, resolve as resolvePath } from 'node:path';
import { SkyApp } from '../app.js';
import { parseSkyfile, readSkyfile } from '../config/load.js';
import { servePrimary, workerCount } from '../workers/serve.js';
import { runWorker } from '../workers/worker.js';
import { skyfileArg, skyfileUsage } from './args.js';
import type { Command } from './main.js';
import { Reloader } from './reload.js';
import { describeUdpPath as udpText } from '../server/udp/choose.js';

/**
 * Heap growth for a long-running server: V8 lets the old space grow to about
 * twice the live data before a full collection by default, so a registry of
 * 100k services (~130 MB live) sat at 430+ MB RSS. Growing by 50 % instead
 * keeps it under 300 MB for a few more full collections while the heap grows
 * (registration storms); a steady server allocates only short-lived garbage.
 * A `--heap-growing-percent` given in NODE_OPTIONS or on node's command line wins.
 */
export function tuneHeap(): void {
  const given = `${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`;
  if (!/--heap[-_]growing[-_]percent/.test(given)) setFlagsFromString('--heap-growing-percent=50');
}

export const serveCommand: Command = {
  summary: 'run the DNS server with a Skyfile (SIGHUP or editing the file reloads it; SIGTERM stops it gracefully)',
  usage: `skydns serve [-c FILE | FILE]\n\n${skyfileUsage}`,
  async run(args) {
    const file = skyfileArg('serve', args);
    tuneHeap();
    // A worker of a `workers` group (forked by the primary below, running this same command).
    if (cluster.isWorker) return runWorker(file);
    const text = await readSkyfile(file);
    const cfg = await parseSkyfile(text, { baseDir: dirname(resolvePath(file)), file });
    const count = workerCount(cfg);
    if (count > 1) return servePrimary(file, cfg, text, count);
    const app = new SkyApp(cfg);
    for (const w of cfg.warnings) app.logger.warn({ file }, w);
    try {
      await app.start();
    } catch (err) {
      await app.stop(0).catch(() => undefined);
      throw err;
    }
    const reloader = new Reloader(app, file);
    reloader.start();
    const stopped = new Promise<number>((resolve) => {
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        reloader.stop();
        const graceMs = app.config.shutdown.graceMs;
        app.logger.info({ signal, graceMs }, 'shutting down: no new queries; finishing those in flight');
        app.stop(graceMs).then(
          () => {
            app.logger.info('stopped');
            resolve(0);
          },
          (err) => {
            app.logger.error({ err }, 'error during shutdown');
            resolve(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
    // Announced once the signal handlers are in place: whoever waits for this line may stop us at once.
    app.logger.info({ listen: app.server.addresses(), udp: app.server.udpPath, chain: cfg.chain.map((e) => e.name) }, `SkyDNS serving DNS on ${app.server.addresses().join(', ')} (UDP and TCP; UDP on ${udpText(app.server.udpPath)})`);
    return stopped;
  },
};
