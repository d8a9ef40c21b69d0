/**
 * The acl policy: blocks of rules, each block for some zones. For a query, the
 * blocks whose zones contain the name are tried in order, and in each the
 * rules in order; the first rule whose networks hold the client's address and
 * whose types hold the query type decides: `allow` passes the query on,
 * `refuse` answers REFUSED, `drop` sends nothing. A query no rule matches, or
 * a name outside every block's zones, passes on (default allow), as CoreDNS's
 * acl does.
 */
import { NetworkSet, parseCidr, parseIp, type IpAddress } from '../../src/cidr.js';
import type { Counter } from 'prom-client';
import { isSubdomain } from '../../src/dns/names.js';
import { Rcode, typeNumber } from '../../src/dns/types.js';
import { SkyError } from '../../src/errors.js';
import { DROP, type Next, type Plugin, type Reply, type Request } from '../../src/plugin.js';

export type Action = 'allow' | 'refuse' | 'drop';

export interface RuleOptions {
  action: Action;
  /** Client networks (CIDR or single address); absent: every client. */
  net?: string[];
  /** Query types ("A", "ANY", "TYPE65280"); absent: every type. */
  type?: string[];
}

export interface BlockOptions {
  zones: string[];
  rules: RuleOptions[];
}

export interface AclOptions {
  /** Zones of the top-level `rules` (default: every name). */
  zones?: string[];
  rules?: RuleOptions[];
  blocks?: BlockOptions[];
}

interface Rule {
  action: Action;
  nets: NetworkSet | null;
  types: Set<number> | null;
}

interface Block {
  zones: string[];
  rules: Rule[];
}

function normalizeZone(z: string): string {
  const lower = z.toLowerCase();
  return lower === '.' ? '.' : lower.replace(/\.$/, '');
}

function compileRule(r: RuleOptions, path: string): Rule {
  r.net?.forEach((n, i) => {
    if (!parseCidr(n)) throw new SkyError('SKY_ERR_CONFIG_INVALID', `"${n}" is not an IP network (address/prefix, e.g. 10.0.0.0/8)`, { path: `${path}.net[${i}]` });
  });
  const nets = r.net ? new NetworkSet(r.net) : null;
  let types: Set<number> | null = null;
  if (r.type) {
    types = new Set();
    for (const [i, t] of r.type.entries()) {
      const n = typeNumber(t);
      if (n === undefined) throw new SkyError('SKY_ERR_CONFIG_INVALID', `"${t}" is not a DNS query type`, { path: `${path}.type[${i}]` });
      types.add(n);
    }
  }
  return { action: r.action, nets, types };
}

/** Checks and compiles the options; `at` is the Skyfile path of the plugin's options. */
export function compilePolicy(o: AclOptions, at: string): Block[] {
  const blocks: Block[] = [];
  if (o.rules) blocks.push({ zones: (o.zones ?? ['.']).map(normalizeZone), rules: o.rules.map((r, j) => compileRule(r, `${at}.rules[${j}]`)) });
  else if (o.zones) throw new SkyError('SKY_ERR_CONFIG_INVALID', '"zones" without "rules": put the rules beside it, or use "blocks"', { path: `${at}.zones` });
  for (const [i, b] of (o.blocks ?? []).entries()) {
    blocks.push({ zones: b.zones.map(normalizeZone), rules: b.rules.map((r, j) => compileRule(r, `${at}.blocks[${i}].rules[${j}]`)) });
  }
  if (blocks.length === 0) throw new SkyError('SKY_ERR_CONFIG_INVALID', 'acl needs "rules" or "blocks"', { path: at });
  return blocks;
}

export class AclPlugin implements Plugin {
  constructor(
    private readonly blocks: Block[],
    private readonly counter: Counter<'action'>,
  ) {}

  /** The rule that decides this query, or null (pass). */
  decide(req: Request): Action | null {
    let ip: IpAddress | null | undefined;
    for (const b of this.blocks) {
      if (!b.zones.some((z) => isSubdomain(req.name, z))) continue;
      for (const r of b.rules) {
        if (r.types && !r.types.has(req.qtype)) continue;
        if (r.nets) {
          if (ip === undefined) ip = parseIp(req.remote.address);
          if (!ip || !r.nets.has(ip)) continue;
        }
        return r.action;
      }
    }
    return null;
  }

  async serveDNS(req: Request, next: Next): Promise<Reply> {
    const action = this.decide(req);
    if (action === null) return next();
    this.counter.inc({ action });
    if (action === 'allow') return next();
    if (action === 'drop') return DROP;
    return { msg: { rcode: Rcode.REFUSED } };
  }
}
