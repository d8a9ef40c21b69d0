/**
 * The seed corpus the fuzzers mutate: valid queries of the shapes a server
 * meets (zone names, service and uuid names, reverse names, names outside the
 * zone, the root; with and without EDNS; other classes), and a few hand-built
 * ones (EDNS options, a record in the answer section with a compressed owner,
 * a TSIG-signed query).
 */
import { encodeQuery } from '../../src/dns/decode.js';

export const FUZZ_ZONE = 'skydns.local';

const NAMES: [string, string][] = [
  [`web.production.${FUZZ_ZONE}`, 'SRV'],
  [`web.production.${FUZZ_ZONE}`, 'A'],
  [`web.production.${FUZZ_ZONE}`, 'AAAA'],
  [`web.production.${FUZZ_ZONE}`, 'ANY'],
  [`WeB.PrOdUcTiOn.SkYdNs.LoCaL`, 'SRV'],
  [`east.1-0-1.web.production.${FUZZ_ZONE}`, 'SRV'],
  [`*.any.web.production.${FUZZ_ZONE}`, 'SRV'],
  [`fuzz-1.${FUZZ_ZONE}`, 'A'],
  [`fuzz-2.10-0-0-2.east.1-0-1.web.production.${FUZZ_ZONE}`, 'SRV'],
  [`db.staging.${FUZZ_ZONE}`, 'TXT'],
  [`nothing.${FUZZ_ZONE}`, 'A'],
  [FUZZ_ZONE, 'SOA'],
  [FUZZ_ZONE, 'NS'],
  [FUZZ_ZONE, 'AXFR'],
  ['1.0.0.10.in-addr.arpa', 'PTR'],
  ['example.org', 'A'],
  ['.', 'NS'],
  ['a.b.c.d.e.f.g.h.example', 'MX'],
];

const EDNS = [null, { udpSize: 512 }, { udpSize: 1232, do: true }, { udpSize: 4096 }, { udpSize: 100 }];

function opt(rdata: Buffer, udpSize = 1232, ttl = 0): Buffer {
  const rr = Buffer.alloc(11 + rdata.length);
  rr[0] = 0;
  rr.writeUInt16BE(41, 1);
  rr.writeUInt16BE(udpSize, 3);
  rr.writeUInt32BE(ttl, 5);
  rr.writeUInt16BE(rdata.length, 9);
  rdata.copy(rr, 11);
  return rr;
}

/** A query without OPT plus `records` appended to the additional section. */
function withAdditional(q: Buffer, ...records: Buffer[]): Buffer {
  const out = Buffer.concat([q, ...records]);
  out.writeUInt16BE(q.readUInt16BE(10) + records.length, 10);
  return out;
}

export function buildCorpus(): Buffer[] {
  const out: Buffer[] = [];
  let id = 1;
  for (const [name, type] of NAMES) {
    for (const edns of EDNS) out.push(encodeQuery({ id: id++, name, type, edns }));
  }
  out.push(encodeQuery({ id: id++, name: FUZZ_ZONE, type: 'TXT', class: 'CH' }));
  out.push(encodeQuery({ id: id++, name: `web.production.${FUZZ_ZONE}`, type: 'SRV', class: 'ANY' }));
  const base = encodeQuery({ id: id++, name: `web.production.${FUZZ_ZONE}`, type: 'SRV' });
  // EDNS cookie (option 10) and client subnet (option 8) options.
  const cookie = Buffer.from('000a0008' + '0102030405060708', 'hex');
  const ecs = Buffer.from('00080007' + '0001' + '18' + '00' + 'c00002', 'hex');
  out.push(withAdditional(base, opt(Buffer.concat([cookie, ecs]))));
  // An answer record whose owner is a pointer to the question name.
  const ans = Buffer.from('c00c' + '0001' + '0001' + '0000003c' + '0004' + 'c0000201', 'hex');
  const withAns = Buffer.concat([base, ans]);
  withAns.writeUInt16BE(1, 6);
  out.push(withAns);
  // Signed with TSIG (an unknown key, hmac-sha256, a 32-byte MAC), after an OPT record: NOTAUTH/BADKEY.
  const tsig = Buffer.from(
    '07736f6d656b657900' + '00fa' + '00ff' + '00000000' + '003d' + // somekey. TSIG ANY 0, RDLENGTH 61
      '0b686d61632d73686132353600' + '00006b0e5a00' + '012c' + '0020' + 'ab'.repeat(32) + '0001' + '0000' + '0000',
    'hex',
  );
  out.push(withAdditional(base, opt(Buffer.alloc(0)), tsig));
  // NOTIFY opcode and a query with two questions (both answered NOTIMP/FORMERR).
  const notify = Buffer.from(base);
  notify[2] = (notify[2]! & 0x87) | (4 << 3);
  out.push(notify);
  const two = Buffer.concat([base, base.subarray(12)]);
  two.writeUInt16BE(2, 4);
  out.push(two);
  return out;
}

/** Question names (zone and outside) the server fuzzer queries as a sentinel. */
export const SENTINEL = { name: `web.production.${FUZZ_ZONE}`, type: 'SRV' } as const;
