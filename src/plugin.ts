/**
 * The plugin contract.
 *
 * A Skyfile's `chain` is an ordered list of plugins; the order written is the
 * order a query runs through them. The server parses each query's header and
 * question, builds a `Request` and calls `chain[0].serveDNS(req, next)`.
 *
 * A plugin's `serveDNS` does one of three things:
 *  - answers: returns a `Reply` (a `Message`, or already-encoded wire bytes);
 *  - passes: returns `next()` (or awaits it and changes or observes what comes back,
 *    as `cache` and `log` do). `next(req)` may pass on a changed request;
 *  - drops: returns `DROP` (nothing is sent to the client).
 * When the last plugin calls `next()`, the query fell off the end of the chain
 * and the reply is REFUSED. A plugin that throws or rejects gets its client a
 * SERVFAIL, an error log line names the plugin, and the server keeps serving.
 * `next` may be called again later (cache prefetch re-runs the rest of the chain).
 *
 * A plugin never imports dns-packet or another plugin: it builds `Message`s from
 * src/dns types, and shares state only through the `SetupContext` (registry, clock).
 *
 * A factory declares a JSON schema for its options; the Skyfile loader validates
 * them (filling defaults, rejecting unknown keys) before `setup` is called, so
 * `setup` receives options that already match the schema. `start` runs after
 * every plugin is set up and before the listeners open (bind your own sockets
 * there); `stop` runs on shutdown or when a reload replaces the chain. `ready`
 * feeds the health plugin's /ready.
 *
 * Custom plugins: a chain entry whose name is a path (`./geo.js`) or a package
 * loads that module's default export as a `PluginFactory`.
 */
import type { Clock } from './clock.js';
import type { Edns } from './dns/query.js';
import type { DecodedMessage } from './dns/decode.js';
import type { Message } from './dns/types.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Registry, Staleness } from './registry/types.js';

export type JSONSchema = Record<string, unknown>;

export interface Remote {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** What happened to a reply once it was written (for log and metrics plugins). */
export interface ResponseInfo {
  rcode: number;
  /** Bytes written (0 when dropped). */
  size: number;
  truncated: boolean;
  dropped: boolean;
  /** ANCOUNT of the reply (0 with NOERROR is NODATA). */
  answerCount: number;
  /** Milliseconds from receipt to write, by the server's clock. */
  durationMs: number;
  /** Name of the plugin that produced the reply, when one did. */
  answeredBy: string | undefined;
}

export interface Request {
  readonly id: number;
  /** Question name as the client spelled it (0x20 case kept), no trailing dot; "." for the root. */
  readonly qname: string;
  /** `qname` lowercased: the name every lookup uses. */
  readonly name: string;
  /** Question type mnemonic ("A", "SRV", "TYPE65280"). */
  readonly type: string;
  readonly qtype: number;
  readonly qclass: number;
  readonly rd: boolean;
  readonly cd: boolean;
  /** DNSSEC OK bit from EDNS. */
  readonly do: boolean;
  /** The query's EDNS, or null when it had no OPT record. */
  readonly edns: Edns | null;
  readonly transport: 'udp' | 'tcp';
  readonly remote: Remote;
  /** The query exactly as received. */
  readonly raw: Buffer;
  /** Offset just past the question name in `raw` (the name spans 12..qnameEnd). */
  readonly qnameEnd: number;
  /** Largest reply the client accepts on this transport (UDP: 512, or its EDNS size capped by the server's maximum). */
  readonly maxSize: number;
  /** When the query arrived (ms, server clock). */
  readonly receivedAt: number;
  /** Full decode of the query: only when a plugin needs more than the question. */
  decode(): DecodedMessage;
  /** Calls `fn` once the reply is written or dropped. */
  onResponse(fn: (info: ResponseInfo) => void): void;
}

/**
 * Something whose changes make replies derived from it stale; the registry is
 * one (its `version` increments on every change).
 */
export interface Generation {
  readonly version: number;
}

/**
 * Marks a reply as derived from `on` at `version`: a cache must not serve it
 * once `on.version !== version` (the skydns zone after a registry change).
 */
export interface DependsOn {
  on: Generation;
  version: number;
}

/** A reply as a message; the server encodes it (compression, truncation, OPT). */
export interface MessageReply {
  msg: Message;
  /** Set by the chain: which plugin produced it. */
  by?: string;
  depends?: DependsOn;
}

/**
 * A reply already in wire form for this very request: ID, RD and question
 * spelling patched, no OPT record (the server adds the one this client needs).
 */
export interface WireReply {
  wire: Buffer;
  by?: string;
  depends?: DependsOn;
}

export interface DropReply {
  drop: true;
  by?: string;
}

export type Reply = MessageReply | WireReply | DropReply;

export const DROP: DropReply = Object.freeze({ drop: true as const });

/**
 * Runs the rest of the chain. It returns the reply itself when every plugin
 * after this one answered synchronously, a promise otherwise: `await` it (or
 * return it) rather than calling `.then` on it.
 */
export type Next = (req?: Request) => Reply | Promise<Reply>;

export interface Plugin {
  /**
   * Answers, passes on or drops one query. May return the reply directly (no
   * promise): the server then answers within the same tick, which is what a
   * cache or pre-encoded zone hit should do. A plugin with no DNS behaviour
   * (HTTP only, like api and health) leaves it out and the chain skips it.
   */
  serveDNS?(req: Request, next: Next): Reply | Promise<Reply>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  ready?(): boolean;
  /**
   * Called once the DNS listeners are open (and again for a plugin a reload
   * set up), with the bound "host:port" addresses: the moment a plugin can
   * send a query to its own server (forward's loop probe). Not awaited.
   */
  listening?(addresses: readonly string[]): void | Promise<void>;
}

export interface SetupContext {
  /** The plugin's name as written in the Skyfile. */
  name: string;
  /** Position in the chain (0-based). */
  index: number;
  /**
   * Key path of this entry's options in the Skyfile, for errors that name an
   * option: `chain[3].cache`, or `chain[0]["./geo/index.js"]` for a plugin
   * loaded by path. Absent only in hosts older than this field.
   */
  keyPath?: string;
  /** Logger bound to this plugin. */
  logger: Logger;
  clock: Clock;
  /** The shared service registry, created on first use from the Skyfile's `registry` section. */
  registry(): Promise<Registry>;
  /** DNS listen addresses ("127.0.0.1:1053"), as configured. */
  listen: readonly string[];
  /** Addresses actually bound (known after the listeners open; used for loop detection). */
  boundAddresses(): readonly string[];
  /** Directory of the Skyfile, for resolving relative paths. */
  baseDir: string;
  /**
   * The server's UDP implementation ("native" or "dgram", from `dns.udp` and
   * SKYDNS_UDP), for plugins that open UDP sockets of their own (forward's
   * upstream sockets). Optional: a host that cannot say leaves it out.
   */
  udpPath?(): 'native' | 'dgram';
  /** The instance's Prometheus metrics (names under `skydns_`); exposed by the metrics plugin. */
  metrics: Metrics;
  /** Whether every plugin in the chain (and the registry, if open) is ready: for the health plugin. */
  ready(): boolean;
  /**
   * What keeps `ready()` false (`"registry"`, `"chain[4].forward"`), for the
   * health plugin's /ready body; empty when ready. Optional: a host that
   * cannot say leaves it out and /ready answers without the list.
   */
  notReady?(): string[];
  /**
   * How current the registry's copy is (a mirror of etcd), for the health
   * plugin's /ready; undefined when no registry is open or it is its own
   * source. Optional, like notReady.
   */
  staleness?(): Staleness | undefined;
}

export interface PluginFactory<O = Record<string, unknown>> {
  name: string;
  /** JSON schema of the options object; defaults in it are filled in. */
  schema: JSONSchema;
  setup(opts: O, ctx: SetupContext): Plugin | Promise<Plugin>;
}

/** Identity helper that gives a factory literal its types. */
export function definePlugin<O>(f: PluginFactory<O>): PluginFactory<O> {
  return f;
}
