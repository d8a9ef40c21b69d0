/**
 * The README's "Try it" block, run against Skyfile.example (on port 0): the
 * registrations it shows, then every dig line, whose answers must be the
 * `# ...` lines printed under it. Also what the README says about names: the
 * label left of the zone is the environment, and another zone works the same.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { startServer } from '../src/testing/server.js';
import type { Service } from '../src/registry/types.js';

const root = new URL('../../', import.meta.url);

interface Dig {
  type: string;
  name: string;
  expected: string[];
}

async function tryIt(): Promise<{ services: Service[]; digs: Dig[] }> {
  const md = await readFile(new URL('README.md', root), 'utf8');
  const from = md.indexOf('Try it (with `npm start` running)');
  const block = /```sh\n([\s\S]*?)```/.exec(md.slice(from))![1]!;
  const services: Service[] = [];
  for (const m of block.matchAll(/services\/(\w+) \\\n\s+-d '(\{.*\})'/g)) services.push({ UUID: m[1]!, ...JSON.parse(m[2]!) });
  const digs: Dig[] = [];
  for (const line of block.split('\n')) {
    const d = /^dig @127\.0\.0\.1 -p 1053 \+short (\w+) (\S+)/.exec(line);
    if (d) digs.push({ type: d[1]!, name: d[2]!, expected: [] });
    else if (line.startsWith('# ')) digs.at(-1)!.expected.push(line.slice(2));
  }
  return { services, digs };
}

/** Skyfile.example with every listener on port 0 (the test must not collide with `npm start`). */
async function skyfileExample(zone = 'skydns.local'): Promise<string> {
  const text = await readFile(new URL('Skyfile.example', root), 'utf8');
  // Without the log plugin: its query lines would only clutter the test output.
  return text.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:0').replace(/"skydns\.local"/g, JSON.stringify(zone)).replace(/^\s*"log",.*$/m, '');
}

/** +short output: the rdata after "<name> <ttl> IN <type> ". */
const short = (lines: string[]) => lines.map((l) => l.split(/\s+/).slice(4).join(' ')).sort();

test('README "Try it": every dig line answers what the README prints under it', async () => {
  const { services, digs } = await tryIt();
  assert.equal(services.length, 2);
  assert.ok(digs.length >= 6 && digs.every((d) => d.expected.length > 0), JSON.stringify(digs));
  for (const form of ['web.production.skydns.local', '_web._tcp.production.skydns.local', 'web.any.skydns.local', 'east.any.web.production.skydns.local']) {
    assert.ok(digs.some((d) => d.name === form), `the README shows ${form}`);
  }
  const srv = await startServer(await skyfileExample());
  try {
    const registry = await srv.app.registry();
    for (const s of services) await registry.put(s);
    for (const d of digs) {
      const r = await srv.udp(d.name, d.type);
      assert.equal(r.rcode, 'NOERROR', `${d.type} ${d.name}`);
      assert.deepEqual(short(r.answer), [...d.expected].sort(), `${d.type} ${d.name}`);
    }
    // "dig SRV web.skydns.local asks for the environment web and gets NXDOMAIN"
    assert.equal((await srv.udp('web.skydns.local', 'SRV')).rcode, 'NXDOMAIN');
  } finally {
    await srv.stop();
  }
});

test('README: the same names under another zone (skydns.internal)', async () => {
  const { services } = await tryIt();
  const srv = await startServer(await skyfileExample('skydns.internal'));
  try {
    const registry = await srv.app.registry();
    for (const s of services) await registry.put(s);
    assert.deepEqual(short((await srv.udp('east.any.web.production.skydns.internal', 'SRV')).answer), ['10 100 8080 1001.skydns.internal.', '20 100 8080 1002.skydns.internal.']);
    assert.deepEqual(short((await srv.tcp('web.production.skydns.internal', 'A')).answer), ['192.0.2.10', '192.0.2.11']);
  } finally {
    await srv.stop();
  }
});
