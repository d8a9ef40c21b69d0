/**
 * The message model plugins build replies with. Record data uses the same
 * shapes as dns-packet (A: "192.0.2.1", SRV: {priority, weight, port, target},
 * SOA: {mname, rname, serial, ...}) so any type dns-packet knows can be sent,
 * but plugins only ever see these types: dns-packet itself stays in src/dns/.
 */
import type { SoaData, SrvData, MxData, TxtData, CaaData } from 'dns-packet';
import * as dnsTypes from 'dns-packet/types.js';

export type { SoaData, SrvData, MxData, TxtData, CaaData };

export type RRData = string | SrvData | SoaData | MxData | TxtData | CaaData | Buffer | Record<string, unknown>;

/** One resource record. `name` without the trailing dot ("." for the root). */
export interface RR {
  name: string;
  type: string;
  class?: string;
  ttl: number;
  data: RRData;
}

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** RFC 8945: with a TSIG error (BADKEY, BADSIG, BADTIME) in the TSIG record. */
  NOTAUTH: 9,
  BADVERS: 16,
} as const;
export type RcodeValue = number;

const rcodeNames = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));
export function rcodeName(rcode: number): string {
  return rcodeNames.get(rcode) ?? `RCODE${rcode}`;
}

export interface Flags {
  aa?: boolean;
  tc?: boolean;
  ra?: boolean;
  ad?: boolean;
}

/**
 * A reply message as a plugin writes it. The server fills in ID, QR, opcode,
 * RD, CD and the question from the request, encodes with name compression,
 * truncates to the client's size and adds the OPT record when the query had one.
 */
export interface Message {
  rcode: RcodeValue;
  flags?: Flags;
  answers?: RR[];
  authorities?: RR[];
  additionals?: RR[];
}

/** RFC 3597 names for types dns-packet does not know ("TYPE65280"). */
export function typeName(t: number): string {
  const s = dnsTypes.toString(t);
  return s.startsWith('UNKNOWN_') ? `TYPE${t}` : s;
}

/** Numeric type from its mnemonic or TYPEnnn form; undefined when unknown. */
export function typeNumber(name: string): number | undefined {
  const up = name.toUpperCase();
  const m = /^TYPE(\d{1,5})$/.exec(up);
  if (m) {
    const n = Number(m[1]);
    return n <= 0xffff ? n : undefined;
  }
  const n = dnsTypes.toType(up);
  return n === 0 ? undefined : n;
}

export const Type = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255,
} as const;

export const Class = { IN: 1, CH: 3, ANY: 255 } as const;
export function className(c: number): string {
  return c === 1 ? 'IN' : c === 3 ? 'CH' : c === 4 ? 'HS' : c === 255 ? 'ANY' : `CLASS${c}`;
}
