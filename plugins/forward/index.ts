import { SkyError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin.js';
import { Forwarder } from './forward.js';
import { forwardSchema, type ForwardOptions } from './options.js';
import { resolveUpstreams } from './upstreams.js';

export default definePlugin<ForwardOptions>({
  name: 'forward',
  schema: forwardSchema,
  setup(opts, ctx) {
    const path = `chain[${ctx.index}].${ctx.name}`;
    if (opts.forceTcp && opts.preferUdp) {
      throw new SkyError('SKY_ERR_CONFIG_INVALID', 'forceTcp and preferUdp cannot both be set', { path: `${path}.forceTcp` });
    }
    return new Forwarder(opts, resolveUpstreams(opts.to, ctx.baseDir, path), ctx);
  },
});
