/**
 * `skydns register | ls | rm`: talk to a running server's HTTP API (the `api`
 * plugin). The API address comes from `--api` or $SKYDNS_API (default
 * http://127.0.0.1:8080), the secret from `--secret` or $SKYDNS_SECRET.
 * Exit status: 0 done, 1 the server refused or could not be reached, 2 usage.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { apiBase, isSkyApiError, queryServices, register, removeService, type ClientOptions } from '../client/index.js';
import { isSkyError, SkyError } from '../errors.js';
import type { Service, ServiceJSON } from '../registry/types.js';
import type { Command } from './main.js';

const common = {
  api: { type: 'string' },
  secret: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

function usage(message: string): never {
  throw new SkyError('SKY_ERR_CLI_USAGE', message);
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    usage((e as Error).message);
  }
  if (parsed.positionals.length > positionals) usage(`unexpected argument ${JSON.stringify(parsed.positionals[positionals])}`);
  return parsed;
}

function connection(v: { api?: string; secret?: string }): { base: string; o: ClientOptions } {
  const raw = v.api ?? (process.env.SKYDNS_API || 'http://127.0.0.1:8080');
  let base: string;
  try {
    base = apiBase(raw);
  } catch (e) {
    usage(`--api: ${(e as Error).message}`);
  }
  const secret = v.secret ?? process.env.SKYDNS_SECRET;
  return { base, o: secret ? { secret } : {} };
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) usage(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** Runs a command body; prints a clear line for a refused or failed request and maps it to an exit status. */
async function guarded(cmd: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (isSkyError(e, 'SKY_ERR_CLI_USAGE')) {
      process.stderr.write(`skydns ${cmd}: ${e.message}\nRun "skydns ${cmd} --help" for usage.\n`);
      return 2;
    }
    if (isSkyApiError(e)) {
      const http = e.status ? `HTTP ${e.status} ` : '';
      const field = e.problems && e.problems.length > 1 ? ` (fields ${e.problems.map((p) => p.path).join(', ')})` : e.path ? ` (field ${e.path})` : '';
      process.stderr.write(`skydns ${cmd}: ${http}${e.code}: ${e.message}${field}\n`);
      // register's own message says it (register() explains a refused first PUT).
      if (e.status === 401 && cmd !== 'register') process.stderr.write(`skydns ${cmd}: the API requires its shared secret: pass --secret or set $SKYDNS_SECRET\n`);
      return 1;
    }
    throw e;
  }
}

function describe(s: ServiceJSON): string {
  const life = s.NoExpire ? 'no expiry' : `TTL ${s.TTL}s, expires ${s.Expires}`;
  return `${s.UUID}: ${s.Name} ${s.Version} ${s.Environment}/${s.Region} at ${s.Host}:${s.Port} (${life})`;
}

/**
 * The flags every registration needs: each field of the service's DNS name
 * (`<uuid>.<host>.<region>.<version>.<name>.<environment>.<zone>`, UUID
 * generated when absent) and the port. SkyDNS 1's server insisted only on Host
 * and Port and stored an empty Region or Version as an empty DNS label, which
 * no DNS name can hold (RFC 1035 §3.1); this server requires them (400), and
 * the CLI says so up front, all at once.
 */
const REQUIRED = ['name', 'version', 'environment', 'region', 'host', 'port'] as const;

/** Every usage problem of a `register` command line at once. */
function registerProblems(v: Partial<Record<string, string | boolean>>): string[] {
  const missing: string[] = REQUIRED.filter((f) => v[f] === undefined).map((f) => `--${f}`);
  if (v.ttl === undefined && !v['no-expire']) missing.push('--ttl (or --no-expire)');
  const out = missing.length ? [`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} required`] : [];
  for (const f of ['port', 'ttl', 'priority', 'weight']) {
    const x = v[f];
    if (typeof x === 'string' && !/^\d+$/.test(x)) out.push(`--${f} must be a whole number, got ${JSON.stringify(x)}`);
  }
  return out;
}

export const registerCommand: Command = {
  summary: 'register a service with a server\'s HTTP API',
  usage: [
    'skydns register --name NAME --version V --environment E --region R --host HOST --port PORT --ttl SECONDS',
    '                       [--uuid UUID] [--priority N] [--weight N] [--no-expire] [--keepalive] [--no-replace] [--api URL] [--secret S] [--json]',
    '',
    '  required      --name, --version, --environment, --region, --host, --port, and --ttl (or --no-expire):',
    '                the service\'s DNS name is <uuid>.<host>.<region>.<version>.<name>.<environment>.<zone>',
    '  --uuid        default: a random UUID',
    '  --keepalive   stay running, heartbeat at a third of the TTL, deregister on Ctrl-C/SIGTERM',
    '  --no-replace  refuse (409) when a live service holds the UUID; by default register takes it over',
    '                at once (PUT ?replace=true), so a restarted service comes back under its UUID',
  ].join('\n'),
  run: (args) => guarded('register', async () => {
    const { values: v } = parse(args, {
      ...common,
      uuid: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, environment: { type: 'string' },
      region: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, ttl: { type: 'string' },
      priority: { type: 'string' }, weight: { type: 'string' }, 'no-expire': { type: 'boolean' }, keepalive: { type: 'boolean' },
      'no-replace': { type: 'boolean' },
    }, 0);
    const { base, o } = connection(v);
    const problems = registerProblems(v);
    if (problems.length) usage(problems.join('; '));
    const svc = { UUID: v.uuid ?? randomUUID(), Name: v.name, Version: v.version, Environment: v.environment, Region: v.region, Host: v.host, Port: int('port', v.port), TTL: int('ttl', v.ttl) ?? 0 } as Service;
    const priority = int('priority', v.priority);
    const weight = int('weight', v.weight);
    if (priority !== undefined) svc.Priority = priority;
    if (weight !== undefined) svc.Weight = weight;
    if (v['no-expire']) svc.NoExpire = true;
    const reg = await register(base, svc, {
      ...o,
      replace: !v['no-replace'],
      keepProcessAlive: true,
      onError: (e) => process.stderr.write(`skydns register: heartbeat failed: ${e.status ? `HTTP ${e.status} ` : ''}${e.code}: ${e.message}\n`),
    });
    // Signal handlers first: stdout to a pipe is written synchronously, so whoever reads the
    // "registered" line may signal us before the next statement runs.
    const stopped = v.keepalive
      ? new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        })
      : null;
    process.stdout.write((v.json ? JSON.stringify(reg.current) : `registered ${describe(reg.current!)}`) + '\n');
    if (!stopped) return 0;
    await stopped;
    await reg.close();
    if (!v.json) process.stdout.write(`deregistered ${reg.uuid}\n`);
    return 0;
  }),
};

export const lsCommand: Command = {
  summary: 'list registered services, optionally matching a DNS-style pattern',
  usage: 'skydns ls [PATTERN] [--api URL] [--secret S] [--json]\n\n  PATTERN  most specific label first, e.g. east.any.web.production ("any" or "*" match anything)',
  run: (args) => guarded('ls', async () => {
    const { values: v, positionals } = parse(args, common, 1);
    const { base, o } = connection(v);
    const list = await queryServices(base, positionals[0], o);
    if (v.json) {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return 0;
    }
    const head = ['UUID', 'NAME', 'VERSION', 'ENVIRONMENT', 'REGION', 'HOST', 'PORT', 'TTL', 'EXPIRES'];
    const rows = list.map((s) => [s.UUID, s.Name, s.Version, s.Environment, s.Region, s.Host, String(s.Port), s.NoExpire ? '-' : String(s.TTL), s.Expires ?? 'never']);
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]!))).join('  ') + '\n');
    if (rows.length === 0) process.stderr.write(`no services${positionals[0] ? ` match ${JSON.stringify(positionals[0])}` : ''}\n`);
    return 0;
  }),
};

export const rmCommand: Command = {
  summary: 'deregister a service by UUID',
  usage: 'skydns rm UUID [--api URL] [--secret S] [--json]',
  run: (args) => guarded('rm', async () => {
    const { values: v, positionals } = parse(args, common, 1);
    const uuid = positionals[0];
    if (uuid === undefined) usage('a UUID is required');
    const { base, o } = connection(v);
    const removed = await removeService(base, uuid, o);
    process.stdout.write((v.json ? JSON.stringify(removed) : `removed ${describe(removed)}`) + '\n');
    return 0;
  }),
};
