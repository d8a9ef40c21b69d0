/**
 * Full decode, for the paths that need every record: a plugin that asks
 * (`req.decode()`), replies from upstream servers, tests. Never on the hot path.
 */
import * as packet from 'dns-packet';
import { SkyError } from '../errors.js';
import type { Flags, Message, RR } from './types.js';

export interface DecodedMessage extends Message {
  id: number;
  qr: boolean;
  opcode: number;
  rd: boolean;
  cd: boolean;
  flags: Flags;
  questions: { name: string; type: string; class: string }[];
  /** EDNS from the OPT record, when present (the OPT itself is not in `additionals`). */
  edns: { udpSize: number; version: number; do: boolean } | null;
}

const OPCODES = ['QUERY', 'IQUERY', 'STATUS', 'OPCODE_3', 'NOTIFY', 'UPDATE'];

export function decodeMessage(buf: Buffer): DecodedMessage {
  // dns-packet allocates an array per section sized by its count before reading a record:
  // four counts of 65535 in a 12-byte packet cost milliseconds. A question takes at least
  // 5 bytes (root name + type + class), a record at least 11: refuse counts that cannot fit.
  if (buf.length >= 12) {
    const records = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
    if (buf.readUInt16BE(4) * 5 + records * 11 > buf.length - 12) {
      throw new SkyError('SKY_ERR_WIRE_FORMAT', 'malformed DNS message: section counts exceed the message length');
    }
  }
  let d: packet.DecodedPacket;
  try {
    d = packet.decode(buf);
  } catch (e) {
    throw new SkyError('SKY_ERR_WIRE_FORMAT', `malformed DNS message: ${(e as Error).message}`, { cause: e });
  }
  const flags = buf.readUInt16BE(2);
  let edns: DecodedMessage['edns'] = null;
  let extRcode = 0;
  const additionals: RR[] = [];
  for (const a of d.additionals ?? []) {
    if (a.type === 'OPT') {
      const o = a as unknown as { udpPayloadSize: number; extendedRcode: number; ednsVersion: number; flags: number };
      edns = { udpSize: o.udpPayloadSize, version: o.ednsVersion, do: (o.flags & 0x8000) !== 0 };
      extRcode = o.extendedRcode;
    } else additionals.push(toRR(a));
  }
  return {
    id: d.id ?? 0,
    qr: (flags & 0x8000) !== 0,
    opcode: OPCODES.indexOf(String((d as { opcode?: string }).opcode)) >>> 0,
    rd: d.flag_rd,
    cd: d.flag_cd,
    rcode: (extRcode << 4) | (flags & 0xf),
    flags: { aa: d.flag_aa, tc: d.flag_tc, ra: d.flag_ra, ad: d.flag_ad },
    questions: (d.questions ?? []).map((q) => ({ name: q.name || '.', type: String(q.type), class: String(q.class) })),
    answers: (d.answers ?? []).map(toRR),
    authorities: (d.authorities ?? []).map(toRR),
    additionals,
    edns,
  };
}

function toRR(a: packet.Answer): RR {
  const r = a as { name: string; type: string; class?: string; ttl?: number; data?: unknown };
  return { name: r.name || '.', type: r.type.startsWith('UNKNOWN_') ? `TYPE${r.type.slice(8)}` : r.type, class: r.class ?? 'IN', ttl: r.ttl ?? 0, data: r.data as RR['data'] };
}

/** Encodes a query (for clients, forwarders and tests). */
export function encodeQuery(q: {
  id: number;
  name: string;
  type: string;
  class?: string;
  rd?: boolean;
  cd?: boolean;
  edns?: { udpSize: number; do?: boolean; version?: number } | null;
}): Buffer {
  const p: packet.Packet = {
    type: 'query',
    id: q.id,
    flags: (q.rd === false ? 0 : packet.RECURSION_DESIRED) | (q.cd ? packet.CHECKING_DISABLED : 0),
    questions: [{ name: q.name, type: q.type as packet.RecordType, class: (q.class ?? 'IN') as packet.RecordClass }],
  };
  if (q.edns) {
    p.additionals = [{
      name: '.',
      type: 'OPT',
      udpPayloadSize: q.edns.udpSize,
      ednsVersion: q.edns.version ?? 0,
      flags: q.edns.do ? packet.DNSSEC_OK : 0,
      options: [],
    } as unknown as packet.Answer];
  }
  return packet.encode(p);
}
