import { definePlugin } from '../../src/plugin.js';
import { watchOptionsSchema } from '../../src/registry/watch/endpoint.js';
import { parseHostPort } from '../../src/server/address.js';
import { CatalogPlugin, type CatalogOptions } from './catalog.js';

export { CatalogPlugin, type CatalogOptions } from './catalog.js';

export default definePlugin<CatalogOptions>({
  name: 'catalog',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['listen'],
    properties: {
      listen: { type: 'string', minLength: 1, description: 'HTTP address of the catalog page' },
      zone: { type: 'string', minLength: 1, default: 'skydns.local', description: 'zone the DNS names on the page are in (the skydns plugin\'s zone)' },
      secret: { type: 'string', minLength: 1, description: 'needed (Authorization header) to deregister from the page' },
      watch: watchOptionsSchema({ maxWatchers: 1000, watchers: 'open pages' }),
    },
  },
  setup(opts, ctx) {
    return new CatalogPlugin(opts, parseHostPort(opts.listen, `chain[${ctx.index}].catalog.listen`), ctx);
  },
});
