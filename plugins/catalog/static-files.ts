/**
 * The page's three files (plugins/catalog/static/), read once at start and
 * served with a strong ETag: `Cache-Control: no-cache` makes a browser
 * revalidate each load, and an unchanged file costs a 304 with no body.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** The static folder from the compiled file (dist/plugins/catalog/) or from the source tree. */
function staticDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes('/dist/') ? fileURLToPath(new URL('../../../plugins/catalog/static/', import.meta.url)) : fileURLToPath(new URL('./static/', import.meta.url));
}

const FILES: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/catalog.js': ['catalog.js', 'text/javascript; charset=utf-8'],
  '/catalog.css': ['catalog.css', 'text/css; charset=utf-8'],
};

export async function loadStatic(): Promise<Map<string, StaticFile>> {
  const dir = staticDir();
  const out = new Map<string, StaticFile>();
  for (const [path, [file, type]] of Object.entries(FILES)) {
    const body = await readFile(dir + file);
    out.set(path, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
  }
  out.set('/index.html', out.get('/')!);
  return out;
}

/** Whether If-None-Match names this ETag (RFC 9110 §13.1.2: weak comparison, `*` matches). */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
