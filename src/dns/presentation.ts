/**
 * Records in presentation format (RFC 1035 §5), as tests and logs show them:
 * `web.production.skydns.local. 30 IN SRV 10 50 8080 web1.example.`
 */
import { dnssecRdataText } from './dnssec.js';
import type { MxData, RR, SoaData, SrvData } from './types.js';

export function fqdn(name: string): string {
  return name === '.' || name === '' ? '.' : name.endsWith('.') ? name : `${name}.`;
}

function txt(data: unknown): string {
  const parts = Array.isArray(data) ? data : [data];
  return parts
    .map((p) => `"${(Buffer.isBuffer(p) ? p.toString('latin1') : String(p)).replace(/["\\]/g, (c) => `\\${c}`)}"`)
    .join(' ');
}

export function rdataText(rr: RR): string {
  const d = rr.data as unknown;
  switch (rr.type.toUpperCase()) {
    case 'A':
    case 'AAAA':
      return String(d);
    case 'CNAME':
    case 'NS':
    case 'PTR':
    case 'DNAME':
      return fqdn(String(d));
    case 'SRV': {
      const s = d as SrvData;
      return `${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${fqdn(s.target)}`;
    }
    case 'MX': {
      const m = d as MxData;
      return `${m.preference ?? 0} ${fqdn(m.exchange)}`;
    }
    case 'SOA': {
      const s = d as SoaData;
      return `${fqdn(s.mname)} ${fqdn(s.rname)} ${s.serial ?? 0} ${s.refresh ?? 0} ${s.retry ?? 0} ${s.expire ?? 0} ${s.minimum ?? 0}`;
    }
    case 'TXT':
      return txt(d);
    default: {
      const dnssec = dnssecRdataText(rr);
      if (dnssec !== undefined) return dnssec;
      if (Buffer.isBuffer(d)) return `\\# ${d.length}${d.length ? ' ' + d.toString('hex') : ''}`;
      return JSON.stringify(d);
    }
  }
}

export function formatRR(rr: RR): string {
  return `${fqdn(rr.name)} ${rr.ttl} ${rr.class ?? 'IN'} ${rr.type.toUpperCase()} ${rdataText(rr)}`;
}

/** Collapses whitespace so hand-written expectations compare with `formatRR` output. */
export function normalizeRR(text: string): string {
  return text.trim().split(/\s+/).join(' ');
}
