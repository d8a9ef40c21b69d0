/**
 * `skydns dnssec ds -c Skyfile`: the DS records to publish in the parent
 * zone (or to use as a trust anchor) for every zone a `dnssec` entry of the
 * Skyfile signs: one per key that signs the zone's DNSKEY RRset (the KSKs,
 * or every key when the zone has no KSK/ZSK split), SHA-256 digests (RFC 4509).
 */
import { DNSKEY_SEP, dnskeyRdata, dsDigestSha256 } from '../../src/dns/dnssec.js';
import { skyfileArg } from '../../src/cli/args.js';
import { loadSkyfile } from '../../src/config/load.js';
import { SkyError } from '../../src/errors.js';
import type { Command } from '../../src/cli/main.js';
import { loadZoneKeys } from './index.js';
import type { DnssecOptions } from './options.js';

/** DS lines (presentation form, as dnssec-dsfromkey -2 writes them) for the Skyfile's signed zones. */
export async function dsRecords(file: string): Promise<string[]> {
  const cfg = await loadSkyfile(file);
  const entries = cfg.chain.filter((e) => e.factory.name === 'dnssec');
  if (entries.length === 0) throw new SkyError('SKY_ERR_CLI_USAGE', `${file} has no dnssec plugin in its chain`);
  const lines: string[] = [];
  for (const e of entries) {
    const byZone = await loadZoneKeys(e.options as unknown as DnssecOptions, cfg.baseDir, e.path);
    for (const [zone, keys] of byZone) {
      const ksk = keys.filter((k) => k.dnskey.flags & DNSKEY_SEP);
      const zsk = keys.filter((k) => !(k.dnskey.flags & DNSKEY_SEP));
      for (const k of ksk.length && zsk.length ? ksk : keys) {
        const digest = dsDigestSha256(zone, dnskeyRdata(k.dnskey)).toString('hex').toUpperCase();
        lines.push(`${zone}. IN DS ${k.tag} ${k.dnskey.algorithm} 2 ${digest}`);
      }
    }
  }
  return lines;
}

export const dnssecCommand: Command = {
  summary: 'DNSSEC helpers: "dnssec ds" prints the DS records for the parent zone',
  usage: 'skydns dnssec ds [-c] FILE',
  async run(args) {
    if (args[0] !== 'ds') throw new SkyError('SKY_ERR_CLI_USAGE', `unknown dnssec subcommand ${args[0] === undefined ? '(none)' : `"${args[0]}"`}; usage: skydns dnssec ds -c FILE`);
    process.stdout.write((await dsRecords(skyfileArg('dnssec ds', args.slice(1)))).join('\n') + '\n');
    return 0;
  },
};
