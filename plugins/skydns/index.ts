import { definePlugin } from '../../src/plugin.js';
import { instrumentRegistry } from '../../src/registry/metrics.js';
import { SkydnsHandler } from './handler.js';
import { resolveOptions, skydnsSchema, type SkydnsOptions } from './options.js';

export default definePlugin<SkydnsOptions>({
  name: 'skydns',
  schema: skydnsSchema,
  async setup(opts, ctx) {
    const cfg = resolveOptions(opts);
    const registry = await ctx.registry();
    instrumentRegistry(ctx.metrics, registry);
    return new SkydnsHandler(cfg, registry, ctx.clock);
  },
});
