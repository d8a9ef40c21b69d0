import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSkyError, type ErrorCode } from '../errors.js';
import { parseSkyfile } from './load.js';
import { locateAll } from './locate.js';

const parse = (text: string, baseDir = process.cwd()) => parseSkyfile(text, { baseDir });

async function fails(text: string, code: ErrorCode, check: { path?: string; line?: number; includes?: string } = {}, baseDir?: string) {
  await assert.rejects(parse(text, baseDir), (e: unknown) => {
    assert.ok(isSkyError(e), `expected a SkyError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (check.path !== undefined) assert.equal(e.path, check.path);
    if (check.line !== undefined) assert.equal(e.line, check.line, `line of ${e.describe()}`);
    if (check.includes) assert.ok(e.message.includes(check.includes), e.message);
    return true;
  });
}

test('defaults are filled and the result is frozen', async () => {
  const cfg = await parse(`{ chain: ["log"] }`);
  assert.deepEqual(cfg.dns.listen, ['127.0.0.1:1053']);
  assert.equal(cfg.dns.maxUdpSize, 1232);
  assert.equal(cfg.dns.tcp.idleTimeoutMs, 10000);
  assert.equal(cfg.chain[0]!.name, 'log');
  assert.deepEqual(cfg.chain[0]!.options.class, ['all']);
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.dns) && Object.isFrozen(cfg.chain[0]!.options));
});

test('chain order is kept; entries are names or one-key objects', async () => {
  const cfg = await parse(`{ chain: [{ log: { class: ["error"] } }, "log"] }`);
  assert.deepEqual(cfg.chain.map((e) => e.path), ['chain[0]', 'chain[1]']);
  assert.deepEqual(cfg.chain[0]!.options.class, ['error']);
});

test('JSON5 syntax errors carry line and column', async () => {
  await fails('{\n  chain: ["log",\n  oops\n}', 'SKY_ERR_CONFIG_SYNTAX', { line: 3 });
});

test('unknown keys are rejected with their key path and line', async () => {
  await fails('{\n  dns: {\n    listne: ["127.0.0.1:53"],\n  },\n  chain: ["log"],\n}', 'SKY_ERR_CONFIG_INVALID', { path: 'dns.listne', line: 3 });
  await fails('{\n  chain: [\n    "log",\n    { log: { colour: "red" } },\n  ],\n}', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[1].log.colour', line: 4 });
  await fails('{ chain: ["log"], extra: 1 }', 'SKY_ERR_CONFIG_INVALID', { path: 'extra' });
});

test('wrong types and values name the key path', async () => {
  await fails('{\n chain: [\n  { log: { class: ["loud"] } }\n ]\n}', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0].log.class[0]', line: 3, includes: 'one of' });
  await fails('{ dns: { maxUdpSize: 100 }, chain: ["log"] }', 'SKY_ERR_CONFIG_INVALID', { path: 'dns.maxUdpSize' });
  await fails('{ dns: { listen: "127.0.0.1:53" }, chain: ["log"] }', 'SKY_ERR_CONFIG_INVALID', { path: 'dns.listen' });
});

test('a missing or empty chain is an error', async () => {
  await fails('{ dns: {} }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain' });
  await fails('{ chain: [] }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain' });
  await fails('[]', 'SKY_ERR_CONFIG_INVALID');
});

test('a chain entry with two keys or a non-object value is rejected', async () => {
  await fails('{ chain: [{ log: {}, cache: {} }] }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0]' });
  await fails('{ chain: [{ log: 3 }] }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0].log' });
});

test('an unknown plugin lists the known ones', async () => {
  await fails('{\n chain: ["lgo"] }', 'SKY_ERR_CONFIG_UNKNOWN_PLUGIN', { path: 'chain[0]', line: 2, includes: 'log' });
});

test('a custom plugin loads by path, relative to the Skyfile; its schema applies', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skyfile-'));
  try {
    await writeFile(
      join(dir, 'hello.mjs'),
      `export default { name: 'hello', schema: { type: 'object', additionalProperties: false, properties: { greeting: { type: 'string', default: 'hi' } } }, setup: () => ({ serveDNS: (r, next) => next() }) };`,
    );
    await writeFile(join(dir, 'notaplugin.mjs'), 'export default 42;');
    const cfg = await parse('{ chain: ["./hello.mjs"] }', dir);
    assert.equal(cfg.chain[0]!.factory.name, 'hello');
    assert.equal(cfg.chain[0]!.options.greeting, 'hi');
    await fails('{ chain: [{ "./hello.mjs": { greting: "x" } }] }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0]["./hello.mjs"].greting' }, dir);
    await fails('{ chain: ["./notaplugin.mjs"] }', 'SKY_ERR_PLUGIN_LOAD', {}, dir);
    await fails('{ chain: ["./missing.mjs"] }', 'SKY_ERR_PLUGIN_LOAD', {}, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('locateAll maps key paths to lines through comments and strings', () => {
  const pos = locateAll(`// top\n{\n  /* a } */ dns: { listen: ["a:1", 'b]:2'] },\n  chain: [\n    "log", // x\n    { cache: { capacity: 5 } },\n  ],\n}`);
  assert.equal(pos.get('dns')?.line, 3);
  assert.equal(pos.get('dns.listen[1]')?.line, 3);
  assert.equal(pos.get('chain[1].cache.capacity')?.line, 6);
});

test('workers: 1 by default, an integer from 1 to 1024 or "auto"; anything else names the key and its line', async () => {
  assert.equal((await parse(`{ chain: ["log"] }`)).workers, 1);
  assert.equal((await parse(`{ workers: 4, chain: ["log"] }`)).workers, 4);
  assert.equal((await parse(`{ workers: "auto", chain: ["log"] }`)).workers, 'auto');
  for (const bad of ['0', '-1', '1.5', '"many"', '"AUTO"', '2000', 'true', 'null', '[2]']) {
    await fails(`{\n  workers: ${bad},\n  chain: ["log"] }`, 'SKY_ERR_CONFIG_INVALID', { path: 'workers', line: 2, includes: 'must be an integer from 1 to 1024 or "auto"' });
  }
});

test('an errorMessage on an anyOf is only used at its own key: other anyOf errors keep their branch message', async () => {
  await fails(`{ chain: [42] }`, 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0]' });
});

test('a JSON5 syntax error names the file and gives the position once', async () => {
  await assert.rejects(parseSkyfile('{\n  chain: ["log",\n  oops\n}', { baseDir: process.cwd(), file: 'conf/Skyfile' }), (e: unknown) => {
    assert.ok(isSkyError(e, 'SKY_ERR_CONFIG_SYNTAX'));
    const text = e.describe();
    assert.match(text, /^SKY_ERR_CONFIG_SYNTAX: conf\/Skyfile: invalid JSON5: invalid character 'o' \(line 3, column 3\)$/);
    assert.equal(text.match(/3/g)!.length, 2, text);
    return true;
  });
});

test('an unknown key suggests the closest key at that path', async () => {
  await fails('{ chain: [{ synth: { zone: "a.", minttl: 5 } }] }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0].synth.minttl', includes: 'unknown key "minttl"; did you mean minTtl?' });
  await fails('{ dns: { listne: ["127.0.0.1:53"] }, chain: ["log"] }', 'SKY_ERR_CONFIG_INVALID', { includes: 'did you mean listen?' });
  await fails('{ chain: [{ forward: { max_fail: 3 } }] }', 'SKY_ERR_CONFIG_INVALID', { includes: 'did you mean maxFails?' });
  // Nothing close: no guess.
  await assert.rejects(parse('{ chain: [{ log: { zzzzzzzz: 1 } }] }'), (e: unknown) => isSkyError(e) && !e.message.includes('did you mean'));
});

test('old snake_case option names still load, renamed, with a warning naming the new key', async () => {
  const cfg = await parse('{\n  chain: [\n    { cache: { denial_capacity: 7, serve_stale: { enabled: true, max_stale: "2h" } } },\n    { forward: { to: ["127.0.0.1:53"], max_fails: 4 } },\n    { ratelimit: { responses_per_second: 9 } },\n  ],\n}');
  const cache = cfg.chain[0]!.options as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(cache.denialCapacity, 7);
  assert.equal(cache.serveStale.maxStale, '2h');
  assert.equal(cache.serveStale.clientTimeout, '1800ms', 'defaults filled under the renamed key');
  assert.ok(!('denial_capacity' in cache) && !('serve_stale' in cache));
  assert.equal(cfg.chain[1]!.options.maxFails, 4);
  assert.equal(cfg.chain[2]!.options.responsesPerSecond, 9);
  assert.deepEqual(cfg.warnings, [
    'chain[0].cache.denial_capacity (line 3) is the old spelling of denialCapacity: it still works in this release; write denialCapacity',
    'chain[0].cache.serve_stale (line 3) is the old spelling of serveStale: it still works in this release; write serveStale',
    'chain[0].cache.serveStale.max_stale (line 3) is the old spelling of maxStale: it still works in this release; write maxStale',
    'chain[1].forward.max_fails (line 4) is the old spelling of maxFails: it still works in this release; write maxFails',
    'chain[2].ratelimit.responses_per_second (line 5) is the old spelling of responsesPerSecond: it still works in this release; write responsesPerSecond',
  ]);
  assert.deepEqual((await parse('{ chain: [{ cache: { denialCapacity: 7 } }] }')).warnings, []);
  // An error under a renamed key still names its line.
  await fails('{\n chain: [\n  { cache: {\n   max_ttl: -1 } }] }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0].cache.maxTtl', line: 4 });
  await fails('{ chain: [{ forward: { max_fails: 1, maxFails: 2 } }] }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0].forward.max_fails', includes: 'keep only maxFails' });
});

test('key paths of a plugin loaded by path quote the path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-keypath-'));
  try {
    await writeFile(join(dir, 'p.mjs'), 'export default { name: "p", schema: { type: "object", additionalProperties: false, properties: { hosts: { type: "array" } } }, setup() { return {}; } };');
    await fails('{\n chain: [\n  { "./p.mjs": {\n    hosts: 1 } }] }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0]["./p.mjs"].hosts', line: 4 }, dir);
    await fails('{ chain: [{ "./p.mjs": { host: [] } }] }', 'SKY_ERR_CONFIG_INVALID', { path: 'chain[0]["./p.mjs"].host', includes: 'did you mean hosts?' }, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
