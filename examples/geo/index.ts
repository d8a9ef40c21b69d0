/**
 * An example custom plugin, loaded by path from a Skyfile:
 *
 *   chain: [{ "./index.js": { zone: "geo.skydns.local", networks: [...] } }]
 *
 * It imports only the public package (`skydns`, and `skydns/testing` in its
 * tests), as a plugin living outside this repository would.
 */
import { BlockList, isIP } from 'node:net';
import { definePlugin, SkyError } from 'skydns';
import { GeoHandler, type GeoOptions, type RegionTable } from './geo.js';

export { GeoHandler, type GeoNetwork, type GeoOptions } from './geo.js';

const LABEL = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,63}$' };

/** Builds the lookup table, refusing a malformed network with the Skyfile key that holds it. */
export function regionTable(networks: GeoOptions['networks'], at: string): RegionTable {
  return networks.map(({ cidr, region }, i) => {
    const [address = '', bits, extra] = cidr.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0 || extra !== undefined || !/^\d{1,3}$/.test(bits ?? String(max)) || prefix > max) {
      throw new SkyError('SKY_ERR_CONFIG_INVALID', `"${cidr}" is not a network (address/prefix, e.g. 10.1.0.0/16)`, { path: `${at}.networks[${i}].cidr` });
    }
    const list = new BlockList();
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
    return { list, region };
  });
}

export default definePlugin<GeoOptions>({
  name: 'geo',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      zone: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9_.-]+$', default: 'geo.skydns.local' },
      networks: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['cidr', 'region'],
          properties: { cidr: { type: 'string', minLength: 1 }, region: LABEL },
        },
      },
      fallback: { ...LABEL, default: 'unknown' },
    },
  },
  setup(opts, ctx) {
    const table = regionTable(opts.networks, ctx.keyPath ?? `chain[${ctx.index}].${ctx.name}`);
    ctx.logger.debug({ zone: opts.zone, networks: table.length }, 'geo plugin set up');
    return new GeoHandler(opts, table, ctx);
  },
});
