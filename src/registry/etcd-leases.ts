/**
 * The etcd leases behind registrations with a TTL. Unlike etcd3's `Lease`
 * object (which keeps one lease alive forever from one process), these are
 * plain lease IDs stored with the key, so any node can renew or revoke them:
 * a heartbeat may reach a different node from the registration.
 *
 * - grant: a lease of `ttl` seconds (etcd raises tiny TTLs to its minimum;
 *   the stored absolute expiry still hides the record on time).
 * - keepAlive: one keepalive on etcd's LeaseKeepAlive stream; false when etcd
 *   says the lease no longer exists (the caller then grants a new one).
 * - revokeLater: best effort, in the background. A lease that outlives its
 *   key holds nothing and expires by itself.
 */
import type { Etcd3, ILeaseKeepAliveResponse } from 'etcd3';
import { SkyError } from '../errors.js';
import { DeadlineError, isTransient, withDeadline } from './etcd-client.js';

export class EtcdLeases {
  private closed = false;

  constructor(
    private readonly client: Etcd3,
    /** Runs an etcd call under the registry's deadline and error mapping. */
    private readonly call: <R>(p: Promise<R>, what: string) => Promise<R>,
    private readonly timeoutMs: number,
  ) {}

  /** A new lease for the registration `uuid`. */
  async grant(ttl: number, uuid: string): Promise<string> {
    const res = await this.call(this.client.leaseClient.leaseGrant({ TTL: Math.max(1, ttl) }), `grant a lease for ${uuid}`);
    return String(res.ID);
  }

  /**
   * A stream cut before it answered because its connection was reset (etcd3
   * drops a member's channels after another call's failure; the registry
   * resets them when etcd answers again after a partition) is opened again,
   * within the first half of the deadline.
   */
  async keepAlive(id: string, uuid: string): Promise<boolean> {
    const start = Date.now();
    for (;;) {
      try {
        return await this.keepAliveOnce(id, uuid);
      } catch (err) {
        const cause = err instanceof SkyError ? err.cause : err;
        if (cause instanceof DeadlineError || !isTransient(cause) || Date.now() - start > this.timeoutMs / 2) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private async keepAliveOnce(id: string, uuid: string): Promise<boolean> {
    const what = `keep the lease of ${uuid} alive`;
    const stream = await this.call(this.client.leaseClient.leaseKeepAlive(), what);
    try {
      const answer = new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
        stream.on('data', resolve);
        stream.on('error', reject);
        stream.on('end', () => reject(new Error('the lease keepalive stream ended without an answer')));
        stream.write({ ID: id });
      });
      const res = await this.call(withDeadline(answer, this.timeoutMs, () => new DeadlineError(this.timeoutMs)), what);
      return Number(res.TTL) > 0;
    } finally {
      try {
        stream.end();
      } catch {
        // already closed
      }
    }
  }

  revokeLater(id: string): void {
    if (this.closed || id === '0') return;
    this.call(this.client.leaseClient.leaseRevoke({ ID: id }), 'revoke a lease').catch(() => undefined);
  }

  close(): void {
    this.closed = true;
  }
}
