import { definePlugin } from '../../src/plugin.js';
import { Cache } from './cache.js';
import { cacheSchema, type CacheOptions } from './options.js';

export default definePlugin<CacheOptions>({
  name: 'cache',
  schema: cacheSchema,
  setup(opts, ctx) {
    return new Cache(opts, ctx.clock, ctx.logger, ctx.metrics);
  },
});
