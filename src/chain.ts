/**
 * Builds the handler that runs a query through the plugins in Skyfile order.
 * A plugin's `next` runs the rest of the chain; past the last plugin the reply
 * is REFUSED. A plugin that throws (or rejects) yields SERVFAIL at its own
 * position, so the plugins before it see an ordinary SERVFAIL reply (the cache
 * can cache it briefly, the log can log it) and the server keeps serving.
 *
 * Plugins without `serveDNS` (api, health: HTTP only) are left out of the
 * compiled chain. A plugin may answer synchronously; as long as every plugin
 * on a query's path does, the whole chain runs without a promise (the hot
 * path: a cache or zone hit is answered in the same tick it arrived).
 */
import { Rcode } from './dns/types.js';
import type { Plugin, Reply, Request } from './plugin.js';

export interface ChainLink {
  name: string;
  plugin: Plugin;
}

export type Handler = (req: Request) => Reply | Promise<Reply>;

export function refused(): Reply {
  return { msg: { rcode: Rcode.REFUSED }, by: undefined };
}

/** True for a promise (or any thenable) as opposed to a reply. */
export function isPromise<T>(x: T | Promise<T>): x is Promise<T> {
  return typeof (x as { then?: unknown }).then === 'function';
}

type ServeDNS = NonNullable<Plugin['serveDNS']>;
interface Step {
  name: string;
  plugin: Plugin;
  serve: ServeDNS;
}

export function compose(links: readonly ChainLink[], onError: (pluginName: string, err: unknown, req: Request) => void): Handler {
  const steps: Step[] = [];
  for (const l of links) if (typeof l.plugin.serveDNS === 'function') steps.push({ name: l.name, plugin: l.plugin, serve: l.plugin.serveDNS });

  const failed = (step: Step, err: unknown, req: Request): Reply => {
    onError(step.name, err, req);
    return { msg: { rcode: Rcode.SERVFAIL }, by: step.name };
  };

  const claim = (step: Step, reply: Reply, req: Request): Reply => {
    if (reply === null || typeof reply !== 'object') {
      return failed(step, new TypeError(`plugin ${step.name} returned ${String(reply)} instead of a reply`), req);
    }
    // A reply with no `by` key is this plugin's own; `by: undefined` (fell off the chain) stays unclaimed.
    if (!('by' in reply) && !Object.isFrozen(reply)) reply.by = step.name;
    return reply;
  };

  const dispatch = (i: number, req: Request): Reply | Promise<Reply> => {
    const step = steps[i];
    if (!step) return refused();
    let out: Reply | Promise<Reply>;
    try {
      out = step.serve.call(step.plugin, req, (r?: Request) => dispatch(i + 1, r ?? req));
    } catch (err) {
      return failed(step, err, req);
    }
    if (out !== null && typeof out === 'object' && isPromise(out)) {
      return out.then(
        (reply) => claim(step, reply, req),
        (err) => failed(step, err, req),
      );
    }
    return claim(step, out, req);
  };
  return (req) => dispatch(0, req);
}
