import { loadSkyfile } from '../config/load.js';
import { effectiveMode, nativeUnavailableReason, resolveUdpPath } from '../server/udp/choose.js';
import { configArg, type Command } from './main.js';

export const checkCommand: Command = {
  summary: 'validate a Skyfile and print the chain it declares',
  usage: 'skydns check -c FILE',
  async run(args) {
    const file = configArg(args);
    const cfg = await loadSkyfile(file);
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
