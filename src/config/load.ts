/**
 * Loads a Skyfile: JSON5 syntax (errors with line and column), the top-level
 * schema, then each chain entry against its plugin's own schema (defaults
 * filled, unknown keys rejected, errors naming `chain[i].plugin.key` and its
 * line). The result is frozen: nothing changes configuration after start.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import JSON5 from 'json5';
import { builtins } from '../builtins.js';
import { SkyError } from '../errors.js';
import type { LogFormat, LogLevel } from '../logger.js';
import type { PluginFactory } from '../plugin.js';
import { joinKey, locate, locateAll, type Position } from './locate.js';
import { renameOldKeys } from './renamed.js';
import { skyfileSchema } from './schema.js';
import { validateAt } from './validate.js';

export interface DnsConfig {
  listen: string[];
  maxUdpSize: number;
  maxInFlight: number;
  shed: 'refused' | 'drop';
  tcp: { idleTimeoutMs: number; maxConnections: number; maxPipelined: number };
  /** UDP implementation (SKYDNS_UDP overrides it): see src/server/udp/choose.ts. */
  udp: 'auto' | 'native' | 'dgram';
}

export interface ChainEntryConfig {
  /** The name as written (a built-in name, a path or a package). */
  name: string;
  factory: PluginFactory<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  options: Record<string, unknown>;
  /** Key path of the entry, `chain[2]`. */
  path: string;
  line: number | undefined;
}

export interface SkyConfig {
  dns: DnsConfig;
  registry: Record<string, unknown>;
  log: { level: LogLevel; format: LogFormat };
  reload: { watch: boolean; debounceMs: number };
  shutdown: { graceMs: number };
  /** Processes serving DNS: 1 (one process), a number (a node:cluster group), or "auto" (one per CPU). */
  workers: number | 'auto';
  chain: ChainEntryConfig[];
  baseDir: string;
  file: string | undefined;
  /** Deprecations met while loading (old option spellings), one sentence each; serve logs them, check prints them. */
  warnings: string[];
  /** Where a key path sits in the Skyfile (or its nearest ancestor), for errors found after loading (plugin setup). */
  positionOf?: (path: string) => Position | undefined;
}

export async function loadSkyfile(file: string): Promise<SkyConfig> {
  return parseSkyfile(await readSkyfile(file), { baseDir: dirname(resolve(file)), file });
}

/** The Skyfile's text (SKY_ERR_CONFIG_READ if it cannot be read); parse it with `parseSkyfile`. */
export async function readSkyfile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new SkyError('SKY_ERR_CONFIG_READ', `cannot read Skyfile ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export async function parseSkyfile(text: string, opts: { baseDir: string; file?: string }): Promise<SkyConfig> {
  let data: unknown;
  try {
    data = JSON5.parse(text);
  } catch (err) {
    const e = err as SyntaxError & { lineNumber?: number; columnNumber?: number };
    const pos = e.lineNumber !== undefined ? { line: e.lineNumber, column: e.columnNumber ?? 0 } : {};
    // The position goes in the error's line/column (shown once by describe()), not in the text as well.
    const what = e.message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '');
    throw new SkyError('SKY_ERR_CONFIG_SYNTAX', `${opts.file ? `${opts.file}: ` : ''}invalid JSON5: ${what}`, pos);
  }
  const positions = locateAll(text);
  const warnings: string[] = [];
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SkyError('SKY_ERR_CONFIG_INVALID', 'the Skyfile must be an object with a "chain" key', { path: '' });
  }
  validateAt(skyfileSchema, data, '', positions);
  const top = data as Omit<SkyConfig, 'chain' | 'baseDir' | 'file'> & { chain: unknown[] };
  const chain: ChainEntryConfig[] = [];
  for (const [i, entry] of top.chain.entries()) {
    chain.push(await chainEntry(entry, i, opts.baseDir, positions, warnings));
  }
  return deepFreeze({ dns: top.dns, registry: top.registry ?? {}, log: top.log, reload: top.reload, shutdown: top.shutdown, workers: top.workers, chain, baseDir: opts.baseDir, file: opts.file, warnings, positionOf: (p: string) => (positions.has(p.split(/[.[]/)[0]!) ? locate(positions, p) : undefined) });
}

async function chainEntry(entry: unknown, i: number, baseDir: string, positions: Map<string, Position>, warnings: string[]): Promise<ChainEntryConfig> {
  const path = `chain[${i}]`;
  const line = locate(positions, path)?.line;
  const at = (p: string) => {
    const pos = locate(positions, p);
    return { path: p, ...(pos ? { line: pos.line, column: pos.column } : {}) };
  };
  let name: string;
  let options: Record<string, unknown>;
  if (typeof entry === 'string') {
    name = entry;
    options = {};
  } else if (entry && typeof entry === 'object' && !Array.isArray(entry) && Object.keys(entry).length === 1) {
    name = Object.keys(entry)[0]!;
    const v = (entry as Record<string, unknown>)[name];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new SkyError('SKY_ERR_CONFIG_INVALID', `${joinKey(path, name)}: options must be an object`, at(joinKey(path, name)));
    }
    options = v as Record<string, unknown>;
  } else {
    throw new SkyError('SKY_ERR_CONFIG_CHAIN_ENTRY', `${path}: a chain entry is a plugin name or a one-key object { name: options }`, at(path));
  }
  const factory = await resolveFactory(name, baseDir, at(path));
  if (builtins[name] === factory) warnings.push(...renameOldKeys(name, options, joinKey(path, name), positions));
  validateAt(factory.schema, options, joinKey(path, name), positions);
  return { name, factory, options, path, line };
}

function isPathName(name: string): boolean {
  return name.startsWith('./') || name.startsWith('../') || isAbsolute(name);
}

async function resolveFactory(name: string, baseDir: string, where: { path: string; line?: number }): Promise<PluginFactory<any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const builtin = builtins[name];
  if (builtin) return builtin;
  let url: string;
  if (isPathName(name)) {
    url = pathToFileURL(resolve(baseDir, name)).href;
  } else {
    try {
      url = pathToFileURL(createRequire(resolve(baseDir, 'Skyfile')).resolve(name)).href;
    } catch {
      const known = Object.keys(builtins).sort().join(', ');
      throw new SkyError('SKY_ERR_CONFIG_UNKNOWN_PLUGIN', `unknown plugin "${name}"; built-in plugins are: ${known} (a custom plugin is a path like ./my-plugin.js or an installed package)`, where);
    }
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new SkyError('SKY_ERR_PLUGIN_LOAD', `cannot load plugin "${name}": ${(err as Error).message}`, { ...where, cause: err });
  }
  const f = mod.default as Partial<PluginFactory> | undefined;
  if (!f || typeof f !== 'object' || typeof f.name !== 'string' || typeof f.setup !== 'function' || !f.schema || typeof f.schema !== 'object') {
    throw new SkyError('SKY_ERR_PLUGIN_LOAD', `plugin "${name}" has no default export of the form { name, schema, setup }`, where);
  }
  return f as PluginFactory;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) {
      // Factories are modules' objects: leave them as they are.
      if (v && typeof v === 'object' && !('setup' in (v as object))) deepFreeze(v);
    }
  }
  return o;
}
