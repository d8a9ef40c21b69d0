/**
 * The catalog's secret check: `Authorization: <secret>` or `Bearer <secret>`,
 * compared in constant time over SHA-256 digests (so neither content nor
 * length leaks through timing). No secret configured: anything passes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function secretMatches(secret: string | undefined, header: string | undefined): boolean {
  if (secret === undefined) return true;
  if (header === undefined) return false;
  const want = digest(secret);
  const m = /^bearer\s+(.*)$/is.exec(header);
  const raw = timingSafeEqual(digest(header), want);
  const bearer = timingSafeEqual(digest(m ? m[1]! : ''), want);
  return raw || (m !== null && bearer);
}
