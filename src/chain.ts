/**
 * Builds the handler that runs a query through the plugins in Skyfile order.
 * A plugin's `next` runs the rest of the chain; past the last plugin the reply
 * is REFUSED. A plugin that throws (or rejects) yields SERVFAIL at its own
 * position, so the plugins before it see an ordinary SERVFAIL reply (the cache
 * can cache it briefly, the log can log it) and the server keeps serving.
 */
import { Rcode } from './dns/types.js';
import type { Plugin, Reply, Request } from './plugin.js';

export interface ChainLink {
  name: string;
  plugin: Plugin;
}

export type Handler = (req: Request) => Promise<Reply>;

export function refused(): Reply {
  return { msg: { rcode: Rcode.REFUSED }, by: undefined };
}

export function compose(links: readonly ChainLink[], onError: (pluginName: string, err: unknown, req: Request) => void): Handler {
  const dispatch = async (i: number, req: Request): Promise<Reply> => {
    const link = links[i];
    if (!link) return refused();
    let reply: Reply;
    try {
      reply = await link.plugin.serveDNS(req, (r?: Request) => dispatch(i + 1, r ?? req));
    } catch (err) {
      onError(link.name, err, req);
      return { msg: { rcode: Rcode.SERVFAIL }, by: link.name };
    }
    if (reply === null || typeof reply !== 'object') {
      onError(link.name, new TypeError(`plugin ${link.name} returned ${String(reply)} instead of a reply`), req);
      return { msg: { rcode: Rcode.SERVFAIL }, by: link.name };
    }
    // A reply with no `by` key is this plugin's own; `by: undefined` (fell off the chain) stays unclaimed.
    if (!('by' in reply) && !Object.isFrozen(reply)) reply.by = link.name;
    return reply;
  };
  return (req) => dispatch(0, req);
}
