/**
 * Following a CNAME out of the zone. Clients use SkyDNS as their resolver, so
 * a stub that asks for A with RD=1 expects the target's addresses too (as
 * CoreDNS's etcd plugin resolves external targets through its upstream). The
 * target is asked of the rest of the chain (normally forward) as a fresh query
 * of the same type; its answer records follow the CNAME and its rcode is the
 * reply's (RFC 6604: the rcode belongs to the last name in the chain).
 */
import { decodeMessage, encodeQuery, parseQuery, Rcode, type Message, type RR } from '../../src/dns/index.js';
import type { Next, Request } from '../../src/plugin.js';

/** The question `name`/`type` as a request of its own, carrying `req`'s ID, client and EDNS. */
export function derivedRequest(req: Request, name: string, type: string): Request {
  const raw = encodeQuery({ id: req.id, name, type, rd: true, cd: req.cd, edns: req.edns ? { udpSize: req.edns.udpSize, do: req.do } : null });
  const v = parseQuery(raw);
  if (v.kind !== 'ok') throw new Error(`cannot build a query for ${name}: ${v.reason}`);
  const q = v.query;
  let decoded: ReturnType<typeof decodeMessage> | undefined;
  return {
    id: q.id,
    qname: q.qname,
    name: q.qname.toLowerCase(),
    type: req.type,
    qtype: q.qtype,
    qclass: q.qclass,
    rd: true,
    cd: q.cd,
    do: req.do,
    edns: q.edns,
    transport: req.transport,
    remote: req.remote,
    raw,
    qnameEnd: q.qnameEnd,
    maxSize: 65535,
    receivedAt: req.receivedAt,
    decode: () => (decoded ??= decodeMessage(raw)),
    onResponse: () => undefined,
  };
}

/**
 * The CNAME followed by what the rest of the chain answers for its target.
 * When that fails (dropped, SERVFAIL, REFUSED) the CNAME alone is the answer:
 * the client's resolver can still follow it.
 */
export async function chase(req: Request, cname: RR, next: Next): Promise<Message> {
  const alone: Message = { rcode: Rcode.NOERROR, flags: { aa: true }, answers: [cname] };
  const reply = await next(derivedRequest(req, String(cname.data), req.type));
  if ('drop' in reply) return alone;
  const m = 'wire' in reply ? decodeMessage(reply.wire) : reply.msg;
  if (m.rcode !== Rcode.NOERROR && m.rcode !== Rcode.NXDOMAIN) return alone;
  return { rcode: m.rcode, flags: { aa: true }, answers: [cname, ...(m.answers ?? [])] };
}
