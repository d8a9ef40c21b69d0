/**
 * `register()`: keeps one service registered for as long as the process wants it.
 *
 *   const reg = await register('http://127.0.0.1:8080', { UUID: 'web1', Name: 'web', ... TTL: 30 });
 *   ...
 *   await reg.close(); // DELETE
 *
 * It PUTs the service, then heartbeats (PATCH with the TTL) every
 * `heartbeatFraction` of the TTL (a third by default, so two heartbeats may
 * fail before the record expires). A heartbeat answered 404 means the server
 * lost the record (restart without its data, or it expired while we could not
 * reach it): the handle registers it again with PUT. Failures never stop the
 * loop; they are kept in `lastError` and passed to `onError`.
 */
import { systemClock, type Clock, type Timer } from '../clock.js';
import type { Service, ServiceJSON } from '../registry/types.js';
import { heartbeat, isSkyApiError, putService, removeService, SkyApiError, type ClientOptions } from './http.js';

export interface RegisterOptions extends ClientOptions {
  /** Heartbeat interval as a fraction of the TTL, in (0, 1] (default 1/3). */
  heartbeatFraction?: number;
  /** Clock for the heartbeat timer (default: the system clock; its timers do not keep the process alive). */
  clock?: Clock;
  /** Called with every failed heartbeat or re-registration. */
  onError?: (err: SkyApiError) => void;
}

export interface Registration {
  readonly uuid: string;
  readonly service: Readonly<Service>;
  /** The server's answer to the last successful PUT or PATCH (remaining TTL, Expires). */
  readonly current: ServiceJSON | undefined;
  /** The last failure, cleared by the next success. */
  readonly lastError: SkyApiError | undefined;
  /** How often the handle has had to register again after a 404. */
  readonly reRegistrations: number;
  /** Milliseconds between heartbeats (Infinity for NoExpire services). */
  readonly intervalMs: number;
  /** Heartbeats now (re-registering after a 404); never rejects. Joins a heartbeat already in flight. */
  beat(): Promise<void>;
  /** Stops heartbeating and deregisters (DELETE; a 404 counts as done). Idempotent. */
  close(): Promise<void>;
}

function toSkyApiError(e: unknown): SkyApiError {
  if (e instanceof SkyApiError) return e;
  return new SkyApiError(0, 'SKY_ERR_API_UNREACHABLE', (e as Error)?.message ?? String(e), { cause: e });
}

class Handle implements Registration {
  current: ServiceJSON | undefined;
  lastError: SkyApiError | undefined;
  reRegistrations = 0;
  readonly intervalMs: number;
  private readonly clock: Clock;
  private timer: Timer | undefined;
  private inflight: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly baseUrl: string, readonly service: Readonly<Service>, private readonly o: RegisterOptions) {
    const fraction = o.heartbeatFraction ?? 1 / 3;
    if (!(fraction > 0 && fraction <= 1)) throw new TypeError(`heartbeatFraction must be in (0, 1], got ${fraction}`);
    this.clock = o.clock ?? systemClock;
    this.intervalMs = service.NoExpire ? Infinity : Math.max(100, service.TTL * 1000 * fraction);
  }

  get uuid(): string {
    return this.service.UUID;
  }

  async open(): Promise<void> {
    this.current = await putService(this.baseUrl, this.service, this.o);
    this.schedule();
  }

  beat(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.inflight ??= this.doBeat().finally(() => {
      this.inflight = undefined;
      this.schedule();
    });
    return this.inflight;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.timer?.cancel();
      this.timer = undefined;
      await this.inflight;
      try {
        await removeService(this.baseUrl, this.uuid, this.o);
      } catch (e) {
        if (!isSkyApiError(e, 404)) throw e;
      }
    })();
    return this.closing;
  }

  private async doBeat(): Promise<void> {
    try {
      try {
        this.current = await heartbeat(this.baseUrl, this.uuid, this.service.NoExpire ? undefined : this.service.TTL, this.o);
      } catch (e) {
        if (!isSkyApiError(e, 404) || this.closing) throw e;
        this.current = await putService(this.baseUrl, this.service, this.o);
        this.reRegistrations++;
      }
      this.lastError = undefined;
    } catch (e) {
      this.lastError = toSkyApiError(e);
      try {
        this.o.onError?.(this.lastError);
      } catch {
        // an onError that throws must not stop the heartbeats
      }
    }
  }

  private schedule(): void {
    if (this.closing || this.intervalMs === Infinity) return;
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.beat();
    }, this.intervalMs);
  }
}

/**
 * Registers `service` (rejects with a SkyApiError when the first PUT fails,
 * e.g. 409 or 400) and keeps it alive until `close()`.
 */
export async function register(baseUrl: string, service: Service, o: RegisterOptions = {}): Promise<Registration> {
  const h = new Handle(baseUrl, Object.freeze({ ...service }), o);
  await h.open();
  return h;
}
