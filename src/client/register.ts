/**
 * `register()`: keeps one service registered for as long as the process wants it.
 *
 *   const reg = await register('http://127.0.0.1:8080', { UUID: 'web1', Name: 'web', ... TTL: 30 });
 *   ...
 *   await reg.close(); // DELETE
 *
 * It PUTs the service (taking over its UUID if a previous run of the service
 * left it registered: `replace`), then heartbeats (PATCH with the TTL) every
 * `heartbeatFraction` of the TTL (a third by default, so two heartbeats may
 * fail before the record expires). A heartbeat answered 404 means the server
 * lost the record (restart without its data, or it expired while we could not
 * reach it): the handle registers it again with PUT. Failures never stop the
 * loop; they are kept in `lastError` and passed to `onError`.
 *
 * The heartbeat timer keeps the process alive until `close()` (like a server
 * socket would); `keepProcessAlive: false` lets the process exit without it.
 * `deregisterOnExit: true` deregisters on SIGTERM or SIGINT, as
 * `skydns register --keepalive` does.
 */
import { systemClock, type Clock, type Timer } from '../clock.js';
import type { Service, ServiceJSON } from '../registry/types.js';
import { heartbeat, isSkyApiError, putService, removeService, SkyApiError, type ClientOptions } from './http.js';

export interface RegisterOptions extends ClientOptions {
  /** Heartbeat interval as a fraction of the TTL, in (0, 1] (default 1/3). */
  heartbeatFraction?: number;
  /**
   * Take over the UUID when a live registration holds it (default true): a
   * service restarted after a crash comes back at once instead of getting 409
   * until its old TTL runs out. `false`: the first PUT rejects with the 409.
   */
  replace?: boolean;
  /**
   * Whether the heartbeat timer keeps the process alive (default true: the
   * process runs until `close()`, as with a listening server). `false`: an
   * unref'd timer, the process may exit while registered (the record then
   * expires after its TTL). Ignored when `clock` is given.
   */
  keepProcessAlive?: boolean;
  /**
   * Deregister on these signals (`true`: SIGTERM and SIGINT), then let the
   * signal take its course: when no other listener for it is left, the process
   * dies of it as it would have without us; otherwise the other listeners
   * decide. Off by default (installing a listener changes how a signal ends
   * the process). The listeners are removed by `close()`.
   */
  deregisterOnExit?: boolean | NodeJS.Signals[];
  /** Clock for the heartbeat timer (default: the system clock, see `keepProcessAlive`). */
  clock?: Clock;
  /** Called with every failed heartbeat, re-registration, or deregistration on a signal. */
  onError?: (err: SkyApiError) => void;
}

/** The system clock with timers that keep the process alive (systemClock's do not). */
const refClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Deregistrations under way because of a signal (the signal is raised again once all are done). */
const leaving = new Set<Promise<void>>();

/** A SkyApiError from the first PUT, with what to do about it. */
function explain(e: unknown, uuid: string): unknown {
  if (!(e instanceof SkyApiError)) return e;
  let hint = '';
  if (e.status === 401) hint = '; the API requires its shared secret: pass `secret` (the CLI: --secret or $SKYDNS_SECRET)';
  else if (e.status === 403) hint = '; the API refused this client';
  else if (e.status === 409) hint = `; a live service holds UUID ${uuid} and replace is off: pass replace: true (the CLI: leave out --no-replace) to take it over, or choose another UUID`;
  if (!hint) return e;
  return new SkyApiError(e.status, e.code, `cannot register ${uuid}: ${e.message}${hint}`, { ...(e.path ? { path: e.path } : {}), ...(e.problems ? { problems: e.problems } : {}), cause: e });
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
  private readonly put: ClientOptions & { replace: boolean };
  private readonly signals: Array<[NodeJS.Signals, () => void]> = [];

  constructor(private readonly baseUrl: string, readonly service: Readonly<Service>, private readonly o: RegisterOptions) {
    const fraction = o.heartbeatFraction ?? 1 / 3;
    if (!(fraction > 0 && fraction <= 1)) throw new TypeError(`heartbeatFraction must be in (0, 1], got ${fraction}`);
    this.clock = o.clock ?? (o.keepProcessAlive === false ? systemClock : refClock);
    this.intervalMs = service.NoExpire ? Infinity : Math.max(100, service.TTL * 1000 * fraction);
    this.put = { ...o, replace: o.replace ?? true };
  }

  get uuid(): string {
    return this.service.UUID;
  }

  async open(): Promise<void> {
    try {
      this.current = await putService(this.baseUrl, this.service, this.put);
    } catch (e) {
      throw explain(e, this.uuid);
    }
    this.schedule();
    const on = this.o.deregisterOnExit;
    if (on) for (const sig of on === true ? (['SIGTERM', 'SIGINT'] as const) : on) this.onSignal(sig);
  }

  /**
   * On `sig`: deregister, then let the signal end the process unless someone
   * else listens for it, once every registration deregistering on it is done.
   */
  private onSignal(sig: NodeJS.Signals): void {
    const handler = (): void => {
      const done: Promise<void> = this.close()
        .catch((e: unknown) => this.report(toSkyApiError(e)))
        .finally(() => {
          leaving.delete(done);
          if (leaving.size === 0 && process.listenerCount(sig) === 0) process.kill(process.pid, sig);
        });
      leaving.add(done);
    };
    process.once(sig, handler);
    this.signals.push([sig, handler]);
  }

  private report(err: SkyApiError): void {
    try {
      this.o.onError?.(err);
    } catch {
      // an onError that throws must not stop the heartbeats
    }
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
      for (const [sig, handler] of this.signals) process.removeListener(sig, handler);
      this.signals.length = 0;
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
        this.current = await putService(this.baseUrl, this.service, this.put);
        this.reRegistrations++;
      }
      this.lastError = undefined;
    } catch (e) {
      this.lastError = toSkyApiError(e);
      this.report(this.lastError);
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
 * e.g. 400 naming every invalid field, 401 without the secret, or 409 with
 * `replace: false`) and keeps it alive until `close()`.
 */
export async function register(baseUrl: string, service: Service, o: RegisterOptions = {}): Promise<Registration> {
  const h = new Handle(baseUrl, Object.freeze({ ...service }), o);
  await h.open();
  return h;
}
