import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderErrorsDoc } from './errors-doc.js';
import { ERRORS, SkyError, isSkyError } from './errors.js';

test('every code is SKY_ERR_* in upper snake case with a description', () => {
  for (const [code, what] of Object.entries(ERRORS)) {
    assert.match(code, /^SKY_ERR_[A-Z0-9_]+$/);
    assert.ok(what.length > 5, code);
  }
});

test('docs/errors.md is the catalog (regenerate with node dist/src/errors-doc.js > docs/errors.md)', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/errors.md', import.meta.url)), 'utf8');
  assert.equal(doc, renderErrorsDoc());
});

test('SkyError carries code, path and line; describe() is one line', () => {
  const e = new SkyError('SKY_ERR_CONFIG_INVALID', 'bad', { path: 'chain[1].log', line: 3, column: 5 });
  assert.ok(isSkyError(e, 'SKY_ERR_CONFIG_INVALID'));
  assert.equal(isSkyError(new Error('x')), false);
  assert.equal(e.describe(), 'SKY_ERR_CONFIG_INVALID: bad (at chain[1].log, line 3, column 5)');
});
