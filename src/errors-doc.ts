/** Renders docs/errors.md from the catalog; `node dist/src/errors-doc.js > docs/errors.md` regenerates it. */
import { fileURLToPath } from 'node:url';
import { ERRORS } from './errors.js';

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERRORS).map(([code, what]) => `| \`${code}\` | ${what} |`);
  return [
    '# Error codes',
    '',
    'Every error SkyDNS reports to a user carries one of these stable codes (CLI messages, HTTP error bodies,',
    'logs). Codes never change meaning; messages may. Generated from `src/errors.ts` by',
    '`node dist/src/errors-doc.js > docs/errors.md`; a test keeps the two in step.',
    '',
    '| code | meaning |',
    '|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.stdout.write(renderErrorsDoc());
