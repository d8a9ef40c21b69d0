import { SkyApp } from '../app.js';
import { loadSkyfile } from '../config/load.js';
import { effectiveMode, nativeUnavailableReason, resolveUdpPath } from '../server/udp/choose.js';
import { silentLogger } from '../logger.js';
import { scratchRegistry } from '../registry/scratch.js';
import { skyfileArg, skyfileUsage } from './args.js';
import type { Command } from './main.js';

export const checkCommand: Command = {
  summary: 'validate a Skyfile as serve would (without binding) and print the chain it declares',
  usage: `skydns check [-c FILE | FILE]\n\n${skyfileUsage}`,
  async run(args) {
    const file = skyfileArg('check', args);
    const cfg = await loadSkyfile(file);
    // What serve does before it binds (listen addresses parsed, the registry
    // section checked, every plugin set up), with a throwaway registry.
    const app = new SkyApp(cfg, { logger: silentLogger, registryFactory: () => scratchRegistry() });
    try {
      await app.prepare();
    } finally {
      await app.stop(0).catch(() => undefined);
    }
    for (const w of cfg.warnings) process.stderr.write(`skydns check: warning: ${w}\n`);
    // "native" without the addon fails here as it would at start (SKY_ERR_UDP_NATIVE_UNAVAILABLE).
    const udp = resolveUdpPath(cfg.dns.udp);
    const why = udp === 'dgram' && effectiveMode(cfg.dns.udp) === 'auto' ? ` (${nativeUnavailableReason() ?? 'auto'})` : '';
    const out = [`${file}: OK`, `listen: ${cfg.dns.listen.join(', ')} (UDP and TCP)`, `registry: ${JSON.stringify(cfg.registry)}`, `workers: ${cfg.workers}`, `udp: ${udp}${why}`, 'chain:'];
    for (const [i, e] of cfg.chain.entries()) {
      const opts = Object.keys(e.options).length ? ' ' + JSON.stringify(e.options) : '';
      out.push(`  ${String(i + 1).padStart(2)}. ${e.name}${opts}`);
    }
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};
