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
    if (opts.force_tcp && opts.prefer_udp) {
      throw new SkyError('SKY_ERR_CONFIG_INVALID', 'force_tcp and prefer_udp cannot both be set', { path: `${path}.force_tcp` });
    }
    return new Forwarder(opts, resolveUpstreams(opts.to, ctx.baseDir, path), ctx);
  },
});
