/**
 * A shared secret (the api's, SkyDNS 1's `-secret`; the catalog's): a request
 * carries `Authorization: <secret>` or `Authorization: Bearer <secret>`.
 *
 * The comparison is constant-time: both sides are hashed to SHA-256 first, so
 * `timingSafeEqual` always compares 32 bytes and neither the content nor the
 * length of the secret leaks through response timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Returns a checker for the header value; `undefined` secret means no check. */
export function secretChecker(secret: string | undefined): (header: string | undefined) => boolean {
  if (secret === undefined) return () => true;
  const want = digest(secret);
  return (header) => {
    if (header === undefined) return false;
    const m = /^bearer\s+(.*)$/is.exec(header);
    // Both forms are compared every time, so the work done does not depend on which one was sent.
    const raw = timingSafeEqual(digest(header), want);
    const bearer = timingSafeEqual(digest(m ? m[1]! : ''), want);
    return raw || (m !== null && bearer);
  };
}
