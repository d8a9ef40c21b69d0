/**
 * Authenticated denial, online and minimal: RFC 9824 compact denial of
 * existence ("black lies"). Every negative answer carries one NSEC whose owner
 * is the query name itself and whose next name is `\000.<qname>`, the name
 * immediately after it in canonical order, so the NSEC covers no other name
 * and nothing about the zone's contents can be walked.
 *
 * - NXDOMAIN becomes NOERROR with the NSEC's bitmap `RRSIG NSEC NXNAME`:
 *   a validator that knows NXNAME (RFC 9824 §2) sees a non-existent name; an
 *   older one sees an unknown type and validates it as NODATA, which is what
 *   the compact-denial design relies on.
 * - NODATA keeps NOERROR, with a bitmap of every type the name could hold
 *   minus the one asked for (the names are a view of the registry, so the
 *   types present are not known without asking again; a superset never makes
 *   a resolver's aggressive NSEC use, RFC 8198, deny a type that exists).
 *   It never lists CNAME (which would contradict the other types) nor NS
 *   below the apex (which would make it a delegation).
 */
import { TYPE_DNSKEY, TYPE_NSEC, TYPE_NXNAME, TYPE_RRSIG, nsecRecord } from '../../src/dns/dnssec.js';
import { Type, type RR, type SoaData } from '../../src/dns/types.js';

const ZONE_TYPES = [Type.A, Type.AAAA, Type.TXT, Type.SRV, Type.PTR];
const APEX_TYPES = [Type.NS, Type.SOA, TYPE_DNSKEY, ...ZONE_TYPES];

/** RFC 9077: a negative answer's NSEC TTL is the smaller of the SOA's TTL and its MINIMUM. */
export function negativeTtl(authorities: readonly RR[]): number {
  const soa = authorities.find((r) => r.type === 'SOA');
  if (!soa) return 0;
  const min = (soa.data as SoaData).minimum ?? soa.ttl;
  return Math.min(soa.ttl, min);
}

/** The NSEC proving `qname` does not exist. */
export function nxdomainNsec(qname: string, lowerName: string, ttl: number): RR {
  return nsecRecord(qname, ttl, nextName(lowerName), [TYPE_RRSIG, TYPE_NSEC, TYPE_NXNAME]);
}

/** The NSEC proving `qname` has no record of type `qtype`. */
export function nodataNsec(qname: string, lowerName: string, qtype: number, apex: boolean, ttl: number): RR {
  const types = (apex ? APEX_TYPES : ZONE_TYPES).filter((t) => t !== qtype);
  return nsecRecord(qname, ttl, nextName(lowerName), [...types, TYPE_RRSIG, TYPE_NSEC]);
}

/** The least name after `name` in canonical order (RFC 4034 §6.1): `\000.<name>`. */
export function nextName(name: string): string {
  return name === '.' ? '\\000' : `\\000.${name}`;
}
