import { asciiLower, trimDot } from '../../src/dns/names.js';
import { SkyError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin.js';
import { DnssecHandler } from './handler.js';
import { loadKey, type ZoneKey } from './keys.js';
import { dnssecSchema, type DnssecOptions } from './options.js';
import { signerMetrics } from './metrics.js';
import { DEFAULT_VALIDITY_S, ZoneSigner } from './signer.js';

export { DnssecHandler } from './handler.js';
export { loadKey, type ZoneKey } from './keys.js';
export { ZoneSigner } from './signer.js';

/** Reads every key named in the options and groups them by zone; each zone needs at least one. */
export async function loadZoneKeys(opts: Pick<DnssecOptions, 'zones' | 'keys'>, baseDir: string, path: string): Promise<Map<string, ZoneKey[]>> {
  const zones = opts.zones?.map((z) => asciiLower(trimDot(z)));
  const keys = await Promise.all(opts.keys.map((k) => loadKey(k, baseDir, zones)));
  const byZone = new Map<string, ZoneKey[]>();
  for (const z of zones ?? []) byZone.set(z, []);
  for (const k of keys) {
    const list = byZone.get(k.zone) ?? [];
    if (!list.some((o) => o.tag === k.tag && o.dnskey.algorithm === k.dnskey.algorithm)) list.push(k);
    byZone.set(k.zone, list);
  }
  for (const [z, list] of byZone) {
    if (list.length === 0) throw new SkyError('SKY_ERR_DNSSEC_NO_KEY', `zone ${z} is to be signed but none of the keys is for it`, { path: `${path}.keys` });
    // RFC 4035 §2.2, RFC 6840 §5.11: every algorithm in the DNSKEY set signs every RRset, so
    // with a KSK/ZSK split each algorithm needs a key on both sides.
    const ksk = list.filter((k) => k.ksk);
    const zsk = list.filter((k) => !k.ksk);
    if (ksk.length && zsk.length) {
      for (const alg of new Set(list.map((k) => k.dnskey.algorithm))) {
        if (!ksk.some((k) => k.dnskey.algorithm === alg) || !zsk.some((k) => k.dnskey.algorithm === alg)) {
          throw new SkyError('SKY_ERR_DNSSEC_NO_KEY', `zone ${z}: algorithm ${alg} has no ${ksk.some((k) => k.dnskey.algorithm === alg) ? 'ZSK' : 'KSK'} beside the other algorithms' KSK and ZSK; every algorithm must sign every RRset (RFC 6840 §5.11)`, { path: `${path}.keys` });
        }
      }
    }
  }
  return byZone;
}

export default definePlugin<DnssecOptions>({
  name: 'dnssec',
  schema: dnssecSchema,
  async setup(opts, ctx) {
    const byZone = await loadZoneKeys(opts, ctx.baseDir, `chain[${ctx.index}].dnssec`);
    const metrics = signerMetrics(ctx.metrics);
    const signers = [...byZone].map(([zone, keys]) => new ZoneSigner(zone, keys, ctx.clock, opts.capacity, DEFAULT_VALIDITY_S, metrics));
    return new DnssecHandler(signers, opts.dnskeyTtl);
  },
});
