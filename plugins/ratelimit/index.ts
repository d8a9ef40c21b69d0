import { NetworkSet, parseCidr } from '../../src/cidr.js';
import { SkyError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin.js';
import { BucketTable } from '../../src/token-buckets.js';
import { RatelimitPlugin, type RatelimitOptions } from './ratelimit.js';

export { BucketTable } from '../../src/token-buckets.js';
export { RatelimitPlugin, type RatelimitOptions } from './ratelimit.js';

export default definePlugin<RatelimitOptions>({
  name: 'ratelimit',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      responsesPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1e9, default: 100, description: 'UDP responses a second to one client prefix' },
      burst: { type: 'number', minimum: 1, maximum: 1e9, description: 'bucket size: responses a quiet prefix may get at once (default 5 x responsesPerSecond)' },
      slip: { type: 'integer', minimum: 0, maximum: 100, default: 2, description: 'every Nth limited response is sent truncated (TC=1) instead of dropped; 0: drop all' },
      ipv4Prefix: { type: 'integer', minimum: 0, maximum: 32, default: 24, description: 'IPv4 clients are grouped by this prefix length' },
      ipv6Prefix: { type: 'integer', minimum: 0, maximum: 128, default: 56, description: 'IPv6 clients are grouped by this prefix length' },
      exempt: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'client networks never limited' },
      any: { enum: ['minimal', 'pass'], default: 'minimal', description: 'minimal: ANY over UDP gets one HINFO "RFC8482" record (RFC 8482); pass: on to the next plugin' },
      anyTtl: { type: 'integer', minimum: 0, maximum: 2147483647, default: 300, description: 'TTL of the synthesized HINFO' },
      maxBuckets: { type: 'integer', minimum: 1, maximum: 100_000_000, default: 100_000, description: 'client prefixes tracked at once (least recently seen forgotten first)' },
    },
  },
  setup(opts, ctx) {
    for (const [i, cidr] of opts.exempt.entries()) {
      if (!parseCidr(cidr)) throw new SkyError('SKY_ERR_CONFIG_INVALID', `"${cidr}" is not an IP network (address/prefix, e.g. 10.0.0.0/8)`, { path: `chain[${ctx.index}].ratelimit.exempt[${i}]` });
    }
    const burst = opts.burst ?? opts.responsesPerSecond * 5;
    if (burst < 1) throw new SkyError('SKY_ERR_CONFIG_INVALID', 'burst must allow at least one response', { path: `chain[${ctx.index}].ratelimit.burst` });
    const buckets = new BucketTable(ctx.clock, opts.responsesPerSecond, burst, opts.maxBuckets);
    return new RatelimitPlugin(opts, {
      buckets,
      exempt: new NetworkSet(opts.exempt),
      limited: ctx.metrics.counter('ratelimit_limited_total', 'UDP responses over the rate limit, by what was sent instead (drop: nothing; slip: truncated).', ['action'] as const),
      minimalAny: ctx.metrics.counter('ratelimit_any_minimal_total', 'ANY queries over UDP answered with the RFC 8482 HINFO.'),
      tracked: ctx.metrics.gauge('ratelimit_buckets', 'Client prefixes the rate limiter tracks.'),
    });
  },
});
