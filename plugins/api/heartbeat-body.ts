/**
 * The body of `PATCH /skydns/services/{uuid}` (a heartbeat). SkyDNS 1 read a
 * whole service document there and used its TTL only (its client sends
 * `{"TTL":n}`, its tests the whole struct). Here the document may be whole
 * too, but a field that would change the registration is refused rather than
 * silently dropped: PATCH renews, `PUT ?replace=true` changes.
 */
import { SkyError } from '../../src/errors.js';
import type { StoredService } from '../../src/registry/types.js';
import { uuidOf } from './schemas.js';

export interface HeartbeatBody {
  UUID?: string;
  Name?: string;
  Version?: string;
  Environment?: string;
  Region?: string;
  Host?: string;
  Port?: number;
  TTL?: number;
  Priority?: number;
  Weight?: number;
  NoExpire?: boolean;
  Expires?: string;
}

const LABELS = ['Name', 'Version', 'Environment', 'Region', 'Host'] as const;
const NUMBERS = ['Port', 'Priority', 'Weight'] as const;

/** Case-insensitive, without a trailing dot: how names compare in DNS. */
const fold = (v: string): string => v.toLowerCase().replace(/\.$/, '');

/**
 * Checks that `body` changes nothing but the TTL of `cur` (the live record,
 * when there is one). Go's zero values (`""`, `0`, `false`) and an empty UUID
 * mean "not given"; `Expires` is read-only and ignored. Throws a 400 naming
 * the first field that differs.
 */
export function checkHeartbeatBody(body: HeartbeatBody, pathUuid: string, cur: StoredService | undefined): void {
  uuidOf(body.UUID, pathUuid);
  if (!cur) return;
  const differs = (field: string, given: unknown, registered: unknown): never => {
    throw new SkyError('SKY_ERR_API_BAD_REQUEST', `PATCH renews a registration and changes only its TTL: ${field} ${JSON.stringify(given)} differs from the registered ${JSON.stringify(registered ?? null)}; to change it, PUT the service with ?replace=true`, { path: field });
  };
  for (const f of LABELS) {
    const v = body[f];
    if (v !== undefined && v !== '' && fold(v) !== fold(cur[f])) differs(f, v, cur[f]);
  }
  for (const f of NUMBERS) {
    const v = body[f];
    if (v !== undefined && v !== 0 && v !== cur[f]) differs(f, v, cur[f]);
  }
  if (body.NoExpire === true && cur.NoExpire !== true) differs('NoExpire', true, false);
}
