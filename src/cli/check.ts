import { loadSkyfile } from '../config/load.js';
import { configArg, type Command } from './main.js';

export const checkCommand: Command = {
  summary: 'validate a Skyfile and print the chain it declares',
  usage: 'skydns check -c FILE',
  async run(args) {
    const file = configArg(args);
    const cfg = await loadSkyfile(file);
    const out = [`${file}: OK`, `listen: ${cfg.dns.listen.join(', ')} (UDP and TCP)`, `registry: ${JSON.stringify(cfg.registry)}`, `workers: ${cfg.workers}`, 'chain:'];
    for (const [i, e] of cfg.chain.entries()) {
      const opts = Object.keys(e.options).length ? ' ' + JSON.stringify(e.options) : '';
      out.push(`  ${String(i + 1).padStart(2)}. ${e.name}${opts}`);
    }
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};
