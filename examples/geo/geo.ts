/**
 * The geo handler: it answers for names under its zone, from the client's
 * own address, and passes every other name on.
 *
 *   whoami.<zone>  A / AAAA  the client's address (the family it asked over)
 *                  TXT       "addr=…" "port=…" "proto=udp|tcp" "region=…"
 *   region.<zone>  TXT       the region of the client's network
 *   <zone>         SOA       the zone's SOA (other types: NODATA)
 *   anything else under the zone: NXDOMAIN
 *
 * Every answer depends on who asks, so it carries TTL 0, and the plugin must
 * run before `cache` in the chain (a cache keys by name, not by client).
 */
import { BlockList, isIPv4 } from 'node:net';
import { isSubdomain, Rcode, type Message, type Next, type Plugin, type Reply, type Request, type RR, type SetupContext } from 'skydns';

export interface GeoNetwork {
  /** "10.1.0.0/16", "2001:db8::/32", or a single address. */
  cidr: string;
  region: string;
}

export interface GeoOptions {
  zone: string;
  networks: GeoNetwork[];
  /** Region of a client in none of the networks. */
  fallback: string;
}

/** The networks as (list, region) pairs, in order: the first that contains the client wins. */
export type RegionTable = { list: BlockList; region: string }[];

/** The client's address as the network layer saw it (IPv4-mapped IPv6 as plain IPv4). */
export function clientAddress(req: Request): { address: string; family: 'ipv4' | 'ipv6' } {
  const a = req.remote.address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return { address: a, family: isIPv4(a) ? 'ipv4' : 'ipv6' };
}

export class GeoHandler implements Plugin {
  private readonly zone: string;
  private readonly soa: RR;
  private readonly byRegion;

  constructor(private readonly opts: GeoOptions, private readonly table: RegionTable, ctx: SetupContext) {
    this.zone = opts.zone.toLowerCase().replace(/\.$/, '');
    this.soa = {
      name: this.zone,
      type: 'SOA',
      ttl: 0,
      data: { mname: `ns.${this.zone}`, rname: `hostmaster.${this.zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 0 },
    };
    // A plugin's own metrics go through ctx.metrics; the metrics plugin exposes them as skydns_geo_queries_total.
    this.byRegion = ctx.metrics.counter('geo_queries_total', 'Queries the geo plugin answered, by the client region.', ['region']);
  }

  /** The region of a client address. */
  regionOf(address: string, family: 'ipv4' | 'ipv6'): string {
    return this.table.find((n) => n.list.check(address, family))?.region ?? this.opts.fallback;
  }

  async serveDNS(req: Request, next: Next): Promise<Reply> {
    if (!isSubdomain(req.name, this.zone)) return next();
    const client = clientAddress(req);
    const region = this.regionOf(client.address, client.family);
    this.byRegion.inc({ region });
    return { msg: this.answer(req, client, region) };
  }

  private answer(req: Request, client: { address: string; family: 'ipv4' | 'ipv6' }, region: string): Message {
    const rr = (type: string, data: RR['data']): RR => ({ name: req.qname, type, ttl: 0, data });
    const label = req.name === this.zone ? '' : req.name.slice(0, -this.zone.length - 1);
    let answers: RR[] | null = null;
    if (label === '') answers = req.type === 'SOA' ? [{ ...this.soa, name: req.qname }] : [];
    else if (label === 'whoami') {
      if (req.type === 'A') answers = client.family === 'ipv4' ? [rr('A', client.address)] : [];
      else if (req.type === 'AAAA') answers = client.family === 'ipv6' ? [rr('AAAA', client.address)] : [];
      else if (req.type === 'TXT') answers = [rr('TXT', [`addr=${client.address}`, `port=${req.remote.port}`, `proto=${req.transport}`, `region=${region}`])];
      else answers = [];
    } else if (label === 'region') answers = req.type === 'TXT' ? [rr('TXT', region)] : [];
    if (answers === null) return { rcode: Rcode.NXDOMAIN, flags: { aa: true }, authorities: [this.soa] };
    // RFC 2308: a NODATA answer carries the SOA in the authority section.
    return answers.length ? { rcode: Rcode.NOERROR, flags: { aa: true }, answers } : { rcode: Rcode.NOERROR, flags: { aa: true }, authorities: [this.soa] };
  }
}
