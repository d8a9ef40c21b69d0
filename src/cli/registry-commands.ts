/**
 * `skydns register | ls | rm`: talk to a running server's HTTP API (the `api`
 * plugin). The API address comes from `--api` or $SKYDNS_API (default
 * http://127.0.0.1:8080), the secret from `--secret` or $SKYDNS_SECRET.
 * Exit status: 0 done, 1 the server refused or could not be reached, 2 usage.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { apiBase, isSkyApiError, queryServices, register, removeService, type ClientOptions } from '../client/index.js';
import type { Clock } from '../clock.js';
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
      const field = e.path ? ` (field ${e.path})` : '';
      process.stderr.write(`skydns ${cmd}: ${http}${e.code}: ${e.message}${field}\n`);
      return 1;
    }
    throw e;
  }
}

function describe(s: ServiceJSON): string {
  const life = s.NoExpire ? 'no expiry' : `TTL ${s.TTL}s, expires ${s.Expires}`;
  return `${s.UUID}: ${s.Name} ${s.Version} ${s.Environment}/${s.Region} at ${s.Host}:${s.Port} (${life})`;
}

/** A clock whose timers keep the process alive (the system clock's do not). */
const refClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

export const registerCommand: Command = {
  summary: 'register a service with a server\'s HTTP API',
  usage: 'skydns register --name NAME --host HOST --port PORT --ttl SECONDS [--uuid UUID] [--version V] [--environment E] [--region R] [--priority N] [--weight N] [--no-expire] [--keepalive] [--api URL] [--secret S] [--json]\n\n  --keepalive  stay running, heartbeat at a third of the TTL, deregister on Ctrl-C/SIGTERM\n  --uuid       default: a random UUID',
  run: (args) => guarded('register', async () => {
    const { values: v } = parse(args, {
      ...common,
      uuid: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, environment: { type: 'string' },
      region: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, ttl: { type: 'string' },
      priority: { type: 'string' }, weight: { type: 'string' }, 'no-expire': { type: 'boolean' }, keepalive: { type: 'boolean' },
    }, 0);
    const { base, o } = connection(v);
    for (const f of ['name', 'host', 'port'] as const) if (v[f] === undefined) usage(`--${f} is required`);
    if (v.ttl === undefined && !v['no-expire']) usage('--ttl is required (or --no-expire)');
    const svc = { UUID: v.uuid ?? randomUUID(), Name: v.name, Version: v.version, Environment: v.environment, Region: v.region, Host: v.host, Port: int('port', v.port), TTL: int('ttl', v.ttl) ?? 0 } as Service;
    const priority = int('priority', v.priority);
    const weight = int('weight', v.weight);
    if (priority !== undefined) svc.Priority = priority;
    if (weight !== undefined) svc.Weight = weight;
    if (v['no-expire']) svc.NoExpire = true;
    const reg = await register(base, svc, {
      ...o,
      clock: refClock,
      onError: (e) => process.stderr.write(`skydns register: heartbeat failed: ${e.status ? `HTTP ${e.status} ` : ''}${e.code}: ${e.message}\n`),
    });
    // Listen for the stop signals before saying "registered": whoever reads that line may signal at once.
    const stopped = v.keepalive
      ? new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        })
      : undefined;
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
