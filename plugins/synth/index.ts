import { SkyError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin.js';
import { instrumentRegistry } from '../../src/registry/metrics.js';
import { DEFAULT_ORDER } from '../../src/registry/names.js';
import { SynthHandler, type SynthOptions } from './synth.js';

const SECONDS = { type: 'integer', minimum: 0, maximum: 2147483647 };

export default definePlugin<SynthOptions>({
  name: 'synth',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      zone: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9_.-]+$', default: 'skydns.local' },
      order: {
        type: 'array',
        items: { enum: ['uuid', 'host', 'region', 'version', 'name', 'environment'] },
        minItems: 1,
        maxItems: 6,
        uniqueItems: true,
        default: [...DEFAULT_ORDER],
      },
      minTtl: { ...SECONDS, default: 1 },
      maxTtl: { ...SECONDS, minimum: 1, default: 3600 },
      fallthrough: { type: 'boolean', default: false, description: 'pass names without addresses to the next plugin' },
      memo: {
        anyOf: [{ const: 'auto' }, { type: 'integer', minimum: 0 }],
        default: 'auto',
        description: 'selections kept between queries; "auto": max(4096, 2 × the distinct service names registered)',
      },
    },
  },
  async setup(opts, ctx) {
    if (opts.minTtl > opts.maxTtl) {
      throw new SkyError('SKY_ERR_CONFIG_INVALID', `synth.minTtl (${opts.minTtl}) is larger than synth.maxTtl (${opts.maxTtl})`, { path: 'synth.minTtl' });
    }
    const registry = await ctx.registry();
    instrumentRegistry(ctx.metrics, registry);
    return new SynthHandler(opts, registry, ctx.clock);
  },
});
