import { SkyApp } from '../app.js';
import { loadSkyfile } from '../config/load.js';
import { configArg, type Command } from './main.js';

export const serveCommand: Command = {
  summary: 'run the DNS server with a Skyfile',
  usage: 'skydns serve -c FILE',
  async run(args) {
    const cfg = await loadSkyfile(configArg(args));
    const app = new SkyApp(cfg);
    try {
      await app.start();
    } catch (err) {
      await app.stop(0).catch(() => undefined);
      throw err;
    }
    app.logger.info({ listen: app.server.addresses(), chain: cfg.chain.map((e) => e.name) }, `SkyDNS serving DNS on ${app.server.addresses().join(', ')} (UDP and TCP)`);
    return new Promise<number>((resolve) => {
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        app.logger.info({ signal }, 'shutting down');
        app.stop().then(() => resolve(0), (err) => {
          app.logger.error({ err }, 'error during shutdown');
          resolve(1);
        });
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
  },
};
