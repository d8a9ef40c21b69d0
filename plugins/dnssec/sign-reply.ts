/**
 * Turns the rest of the chain's reply for a name of a signed zone into a
 * signed one (the query had DO=1): denial for NXDOMAIN and NODATA
 * (denial.ts), then an RRSIG after every RRset of the zone in every section.
 *
 * RRsets are the records of one owner (compared case-insensitively), type
 * and class; each is written together with one TTL, the smallest of its
 * records (RFC 2181 §5.2), followed by its RRSIGs. Records whose owner is
 * outside the zone (glue for a target elsewhere, a CNAME chased out of the
 * zone) are left as they are: they are not ours to sign. OPT is never part
 * of a message here (the server adds it).
 */
import { isSubdomain, asciiLower } from '../../src/dns/names.js';
import { Rcode, type Message, type RR } from '../../src/dns/types.js';
import { negativeTtl, nodataNsec, nxdomainNsec } from './denial.js';
import type { ZoneSigner } from './signer.js';

export interface Question {
  /** As the client spelled it. */
  qname: string;
  /** Lowercase. */
  name: string;
  qtype: number;
}

/** The signed form of `msg`; `msg` itself is not changed. */
export function signReply(msg: Message, q: Question, signer: ZoneSigner): Message {
  if (msg.rcode !== Rcode.NOERROR && msg.rcode !== Rcode.NXDOMAIN) return msg;
  const answers = msg.answers ?? [];
  let authorities = msg.authorities ?? [];
  let rcode = msg.rcode;
  const apex = q.name === signer.zone;
  // An NXDOMAIN after a CNAME (answers not empty) is the target's, outside the zone
  // (RFC 6604): the CNAME is signed, the rcode left alone. The apex always exists (it
  // holds the SOA): an NXDOMAIN for it is denied as NODATA.
  const nx = msg.rcode === Rcode.NXDOMAIN && answers.length === 0;
  if (nx && !apex) {
    rcode = Rcode.NOERROR;
    authorities = [...authorities, nxdomainNsec(q.qname, q.name, negativeTtl(authorities))];
  } else if (nx && apex) {
    rcode = Rcode.NOERROR;
    authorities = [...authorities, nodataNsec(q.qname, q.name, q.qtype, true, negativeTtl(authorities))];
  } else if (answers.length === 0 && !authorities.some((r) => r.type === 'NS' && asciiLower(r.name) !== signer.zone)) {
    authorities = [...authorities, nodataNsec(q.qname, q.name, q.qtype, apex, negativeTtl(authorities))];
  }
  const out: Message = { ...msg, rcode };
  out.answers = signSection(answers, signer);
  out.authorities = signSection(authorities, signer);
  if (msg.additionals) out.additionals = signSection(msg.additionals, signer);
  return out;
}

/** Groups a section into RRsets (in order of first appearance) and appends each set's RRSIGs. */
export function signSection(rrs: readonly RR[], signer: ZoneSigner): RR[] {
  if (rrs.length === 0) return [];
  const sets = new Map<string, RR[]>();
  for (const rr of rrs) {
    const k = `${asciiLower(rr.name)}\0${rr.type}\0${rr.class ?? 'IN'}`;
    const s = sets.get(k);
    if (s) s.push(rr);
    else sets.set(k, [rr]);
  }
  const out: RR[] = [];
  for (const set of sets.values()) {
    const first = set[0]!;
    const inZone = isSubdomain(asciiLower(first.name), signer.zone) && first.type !== 'RRSIG' && (first.class ?? 'IN') === 'IN';
    if (!inZone) {
      out.push(...set);
      continue;
    }
    const ttl = Math.min(...set.map((r) => r.ttl));
    for (const r of set) out.push(r.ttl === ttl ? r : { ...r, ttl });
    out.push(...signer.sign(set, ttl));
  }
  return out;
}
