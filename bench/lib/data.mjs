/**
 * The bench's one data set: N services × M instances, as
 *   - the bodies SkyDNS gets over its API (PUT /skydns/services/{uuid}),
 *   - the equivalent bind9 zone file (the same SRV and A records SkyDNS + synth answer,
 *     so the answers have the same records and the same size),
 *   - a dnsperf query file: 80 % SRV, 20 % A, over every service, in a fixed shuffled order.
 *
 * Service s is `svc<s>.production.<zone>`; its instance m has UUID `s<s>i<m>`, an IPv4
 * Host (so SRV targets are `<uuid>.<zone>.` with the A in the additional section), port
 * 8000+m, region east or west, no Priority/Weight (SkyDNS: priority 10, equal weights).
 */

export const ZONE = 'skydns.local';
export const TTL = 3600; // what both servers answer: SkyDNS clamps to its maxTtl (3600)
const REGISTERED_TTL = 86400; // stays above maxTtl for the whole bench, so SkyDNS's TTL does not count down

export function instance(s, m, M) {
  const g = s * M + m + 1;
  return {
    uuid: `s${s}i${m}`,
    body: {
      Name: `svc${s}`,
      Version: '1.0.0',
      Environment: 'production',
      Region: m % 2 ? 'west' : 'east',
      Host: `10.${(g >> 16) & 255}.${(g >> 8) & 255}.${g & 255}`,
      Port: 8000 + m,
      TTL: REGISTERED_TTL,
    },
  };
}

export function* instances(N, M) {
  for (let s = 0; s < N; s++) for (let m = 0; m < M; m++) yield instance(s, m, M);
}

export const serviceName = (s) => `svc${s}.production.${ZONE}`;

/** The bind9 zone with the records SkyDNS answers for the same registrations. */
export function zoneFile(N, M) {
  // SkyDNS: weights are shares of 100 within a priority, equal when none registered, never 0.
  const weight = Math.max(1, Math.floor(100 / M));
  const out = [
    `$ORIGIN ${ZONE}.`,
    `$TTL ${TTL}`,
    `@ 300 IN SOA ns.dns.${ZONE}. hostmaster.${ZONE}. ( 1 7200 1800 86400 30 )`,
    `@ 300 IN NS ns.dns.${ZONE}.`,
    'ns.dns 300 IN A 127.0.0.1',
  ];
  for (let s = 0; s < N; s++) {
    const owner = `svc${s}.production`;
    for (let m = 0; m < M; m++) {
      const { uuid, body } = instance(s, m, M);
      out.push(`${owner} IN SRV 10 ${weight} ${body.Port} ${uuid}.${ZONE}.`);
      out.push(`${owner} IN A ${body.Host}`);
      out.push(`${uuid} IN A ${body.Host}`);
    }
  }
  return out.join('\n') + '\n';
}

/** dnsperf input: per service four SRV lines and one A line (80/20), shuffled with a fixed seed. */
export function queryFile(N) {
  const lines = [];
  for (let s = 0; s < N; s++) {
    const name = serviceName(s);
    lines.push(`${name} SRV`, `${name} SRV`, `${name} SRV`, `${name} SRV`, `${name} A`);
  }
  let seed = 0x5eed;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = lines.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  return lines.join('\n') + '\n';
}
