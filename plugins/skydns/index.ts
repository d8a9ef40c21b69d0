import { definePlugin } from '../../src/plugin.js';
import { SkydnsHandler } from './handler.js';
import { resolveOptions, skydnsSchema, type SkydnsOptions } from './options.js';

export default definePlugin<SkydnsOptions>({
  name: 'skydns',
  schema: skydnsSchema,
  async setup(opts, ctx) {
    const cfg = resolveOptions(opts);
    return new SkydnsHandler(cfg, await ctx.registry(), ctx.clock);
  },
});
