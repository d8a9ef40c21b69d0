/**
 * The dnssec query handler. Names outside the signed zones, classes other
 * than IN and queries without DO pass through untouched (a DO=0 reply is byte
 * for byte the reply without this plugin), except DNSKEY at a zone's apex,
 * which this plugin answers itself (with its RRSIGs when DO=1). With DO=1 the
 * rest of the chain's reply is signed (sign-reply.ts) and encoded here, fitted
 * to the client so that no RRset goes out without its RRSIGs (fit.ts); if
 * signing fails the query gets SERVFAIL from the server, never a half-signed reply.
 */
import { isPromise } from '../../src/chain.js';
import { decodeMessage } from '../../src/dns/decode.js';
import { dnskeyRecord, TYPE_DNSKEY } from '../../src/dns/dnssec.js';
import { isSubdomain } from '../../src/dns/names.js';
import { Rcode, type Message } from '../../src/dns/types.js';
import type { Next, Plugin, Reply, Request } from '../../src/plugin.js';
import { encodeSigned } from './fit.js';
import { signReply } from './sign-reply.js';
import type { ZoneSigner } from './signer.js';

export class DnssecHandler implements Plugin {
  /** Longest zone first, so a signed child zone wins over its signed parent. */
  private readonly signers: ZoneSigner[];

  constructor(signers: ZoneSigner[], private readonly dnskeyTtl: number) {
    this.signers = [...signers].sort((a, b) => b.zone.length - a.zone.length);
  }

  signerFor(name: string): ZoneSigner | undefined {
    return this.signers.find((s) => isSubdomain(name, s.zone));
  }

  serveDNS(req: Request, next: Next): Reply | Promise<Reply> {
    if (req.qclass !== 1) return next();
    const signer = this.signerFor(req.name);
    if (!signer) return next();
    if (req.qtype === TYPE_DNSKEY && req.name === signer.zone) return { msg: this.dnskeys(req, signer) };
    if (!req.do) return next();
    const reply = next();
    return isPromise(reply) ? reply.then((r) => signed(req, signer, r)) : signed(req, signer, reply);
  }

  private dnskeys(req: Request, signer: ZoneSigner): Message {
    const set = signer.keys.map((k) => dnskeyRecord(req.qname, this.dnskeyTtl, k.dnskey));
    return { rcode: Rcode.NOERROR, flags: { aa: true }, answers: req.do ? [...set, ...signer.sign(set, this.dnskeyTtl)] : set };
  }
}

function signed(req: Request, signer: ZoneSigner, reply: Reply): Reply {
  if ('drop' in reply) return reply;
  const msg = 'wire' in reply ? messageOf(reply.wire) : reply.msg;
  const out: Reply = { wire: encodeSigned(req, signReply(msg, { qname: req.qname, name: req.name, qtype: req.qtype }, signer)) };
  if (reply.by !== undefined) out.by = reply.by;
  if (reply.depends) out.depends = reply.depends;
  return out;
}

/** A wire reply (the skydns plugin's pre-encoded answers, a cache hit) as a message. */
function messageOf(wire: Buffer): Message {
  const d = decodeMessage(wire);
  return { rcode: d.rcode, flags: d.flags, answers: d.answers, authorities: d.authorities, additionals: d.additionals };
}
