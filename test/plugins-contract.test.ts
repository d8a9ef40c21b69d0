/**
 * One contract over every built-in plugin: the factory's name and schema, a
 * README in man-page form (Name, Description, Syntax, Examples, in order), and
 * every Skyfile example in that README validates and boots.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { builtins } from '../src/builtins.js';
import { parseSkyfile } from '../src/config/load.js';
import { startServer } from '../src/testing/server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SECTIONS = ['Name', 'Description', 'Syntax', 'Examples'];

/** Every address under a `listen` key becomes 127.0.0.1:0 (or [::1]:0) so examples boot side by side. */
export function loopbackListeners(text: string): string {
  return text.replace(/(listen\s*:\s*)(\[(?:\s*(?:"[^"]*"|'[^']*')\s*,?)*\s*\]|"[^"]*"|'[^']*')/g, (_m, key: string, value: string) =>
    key + value.replace(/(["'])(\[[^\]]+\]|[^"':]+):\d+\1/g, (_a, q: string, host: string) => `${q}${host.startsWith('[') ? '[::1]' : '127.0.0.1'}:0${q}`),
  );
}

export function examples(readme: string): string[] {
  const at = readme.indexOf('\n## Examples');
  const end = readme.indexOf('\n## ', at + 5);
  const section = readme.slice(at, end < 0 ? undefined : end);
  return [...section.matchAll(/```json5\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('every built-in plugin', () => {
  const ajv = new Ajv({ strict: false, useDefaults: true });
  for (const [name, factory] of Object.entries(builtins)) {
    describe(name, () => {
      test('factory: name matches, schema is a closed object schema that compiles', () => {
        assert.equal(factory.name, name);
        assert.equal(typeof factory.setup, 'function');
        assert.equal(factory.schema.type, 'object');
        assert.equal(factory.schema.additionalProperties, false, 'unknown keys must be rejected');
        ajv.compile(factory.schema);
      });

      const readmePath = `${root}plugins/${name}/README.md`;
      test('README in man-page form', () => {
        assert.ok(existsSync(readmePath), `${readmePath} is missing`);
        const text = readFileSync(readmePath, 'utf8');
        assert.match(text, new RegExp(`^# ${name}\\b`), 'starts with "# <name>"');
        const heads = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]!.trim());
        const found = heads.filter((h) => SECTIONS.includes(h));
        assert.deepEqual(found, SECTIONS, `sections ${SECTIONS.join(', ')} in order; found ${heads.join(', ')}`);
        assert.ok(examples(text).length > 0, 'at least one ```json5 Skyfile example under Examples');
      });

      test('every README example validates and boots', async () => {
        if (!existsSync(readmePath)) return assert.fail('README missing');
        for (const ex of examples(readFileSync(readmePath, 'utf8'))) {
          const text = loopbackListeners(ex);
          await parseSkyfile(text, { baseDir: root });
          // Files an example names (the dnssec plugin's key pairs) are in plugins/<name>/testdata/:
          // the example boots in a temp copy of that folder, as if it were the Skyfile's.
          const fixtures = `${root}plugins/${name}/testdata`;
          const baseDir = existsSync(fixtures) ? await mkdtemp(join(tmpdir(), `skydns-${name}-example-`)) : undefined;
          if (baseDir) await cp(fixtures, baseDir, { recursive: true });
          try {
            const srv = await startServer(text, baseDir ? { baseDir } : {});
            await srv.stop();
          } finally {
            if (baseDir) await rm(baseDir, { recursive: true, force: true });
          }
        }
      });
    });
  }
});

test('loopbackListeners rewrites listen addresses only', () => {
  const t = loopbackListeners(`{ dns: { listen: ["0.0.0.0:53", "[::]:53"] }, chain: [{ api: { listen: "127.0.0.1:8080" } }, { forward: { to: ["127.0.0.1:5300"] } }] }`);
  assert.equal(t, `{ dns: { listen: ["127.0.0.1:0", "[::1]:0"] }, chain: [{ api: { listen: "127.0.0.1:0" } }, { forward: { to: ["127.0.0.1:5300"] } }] }`);
});
