import { definePlugin } from '../../src/plugin.js';
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
      watch: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          history: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 4096, description: 'recent changes kept for reconnecting pages' },
          maxWatchers: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1000, description: 'open pages at once (429 past it)' },
          keepaliveMs: { type: 'integer', minimum: 0, maximum: 600_000, default: 15_000, description: 'comment line on idle streams this often (0: never)' },
        },
      },
    },
  },
  setup(opts, ctx) {
    return new CatalogPlugin(opts, parseHostPort(opts.listen, `chain[${ctx.index}].catalog.listen`), ctx);
  },
});
