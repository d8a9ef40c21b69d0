/**
 * The one error catalog. Every error SkyDNS reports to a user carries a stable
 * `SKY_ERR_*` code from this table; tests assert the code, never the message.
 * Add new codes here (and nowhere else), with a one-line description: the
 * catalog test keeps this table and docs/errors.md in step.
 */
export const ERRORS = {
  // configuration (Skyfile)
  SKY_ERR_CONFIG_READ: 'the Skyfile could not be read',
  SKY_ERR_CONFIG_SYNTAX: 'the Skyfile is not valid JSON5',
  SKY_ERR_CONFIG_INVALID: 'a Skyfile value does not match the schema',
  SKY_ERR_CONFIG_UNKNOWN_PLUGIN: 'a chain entry names a plugin that does not exist',
  SKY_ERR_CONFIG_CHAIN_ENTRY: 'a chain entry is neither a name nor a one-key object',
  SKY_ERR_PLUGIN_LOAD: 'a custom plugin module could not be loaded or is not a plugin factory',
  SKY_ERR_PLUGIN_SETUP: 'a plugin failed to set up',
  // server
  SKY_ERR_LISTEN: 'a listener could not bind its address',
  SKY_ERR_LISTEN_ADDRESS: 'a listen address is not host:port',
  SKY_ERR_UDP_NATIVE_UNAVAILABLE: 'dns.udp (or SKYDNS_UDP) asks for the native UDP socket, which is not built or not supported here',
  // wire
  SKY_ERR_WIRE_FORMAT: 'a DNS message is malformed',
  SKY_ERR_WIRE_ENCODE: 'a DNS message could not be encoded',
  // registry
  SKY_ERR_REGISTRY_INVALID: 'a service registration is invalid',
  SKY_ERR_REGISTRY_EXISTS: 'a service with this UUID is already registered',
  SKY_ERR_REGISTRY_NOT_FOUND: 'no live service with this UUID',
  SKY_ERR_REGISTRY_IO: 'the registry could not write to or read from its storage',
  SKY_ERR_REGISTRY_CLOSED: 'the registry is closed',
  SKY_ERR_REGISTRY_UNAVAILABLE: 'the registry cannot accept writes right now (no quorum or not connected)',
  // forward
  SKY_ERR_FORWARD_UPSTREAM: 'a forward upstream is neither an IP address (host:port) nor a readable resolv.conf',
  SKY_ERR_FORWARD_RESOLV_CONF: 'a resolv.conf named as a forward upstream has no usable nameserver line',
  SKY_ERR_FORWARD_LOOP: 'a forward upstream is this server itself (a forwarding loop); it is not used',
  // dnssec plugin: key files named in the Skyfile
  SKY_ERR_DNSSEC_KEY_READ: 'a DNSSEC key file (.key or .private) could not be read',
  SKY_ERR_DNSSEC_KEY_FORMAT: 'a DNSSEC key file is not in the BIND format dnssec-keygen writes',
  SKY_ERR_DNSSEC_KEY_ALGORITHM: 'a DNSSEC key uses an algorithm SkyDNS does not sign with (8, 13 and 15 are supported)',
  SKY_ERR_DNSSEC_KEY_MISMATCH: 'a DNSSEC key pair does not agree with itself, its file name or the zones signed',
  SKY_ERR_DNSSEC_NO_KEY: 'a zone the dnssec plugin signs has no key, or no key of an algorithm for one of the roles (KSK, ZSK)',
  // HTTP API (api plugin, client, registry commands)
  SKY_ERR_API_BAD_REQUEST: 'an API request is malformed: not JSON, a wrong type, an unknown field, or a bad query',
  SKY_ERR_API_UNAUTHORIZED: 'an API request lacks the shared secret in its Authorization header',
  SKY_ERR_API_FORBIDDEN: 'a callback address is outside the networks allowed for callbacks',
  SKY_ERR_API_ROUTE: 'no API route for this method and path',
  SKY_ERR_API_BODY_TOO_LARGE: 'an API request body is over the configured limit',
  SKY_ERR_API_MEDIA_TYPE: 'an API request body has a content type other than JSON',
  SKY_ERR_API_RATE_LIMITED: 'a client sent registrations faster than the API allows (429, retry after the Retry-After seconds)',
  SKY_ERR_API_INTERNAL: 'the API failed while handling a request',
  SKY_ERR_API_HTTP: 'the API answered with an HTTP error that carries no SkyDNS code',
  SKY_ERR_API_UNREACHABLE: 'the API could not be reached or did not answer in time',
  SKY_ERR_CLI_USAGE: 'a command line has a missing, unknown or bad option',
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class SkyError extends Error {
  readonly code: ErrorCode;
  /** Key path into the Skyfile (`chain[2].forward.to`) or a field name, when there is one. */
  readonly path: string | undefined;
  /** 1-based line in the Skyfile, when known. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** When one error reports several problems (every invalid field of a registration): each one. `path` is the first's. */
  readonly problems: ReadonlyArray<{ path: string; message: string }> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { path?: string; line?: number; column?: number; cause?: unknown; problems?: ReadonlyArray<{ path: string; message: string }> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SkyError';
    this.code = code;
    this.path = opts.path;
    this.line = opts.line;
    this.column = opts.column;
    this.problems = opts.problems;
  }

  /** One line for a terminal: `SKY_ERR_X: message (at chain[2].forward.to, line 7)`. */
  describe(): string {
    const where: string[] = [];
    if (this.path) where.push(`at ${this.path}`);
    if (this.line !== undefined) where.push(`line ${this.line}${this.column !== undefined ? `, column ${this.column}` : ''}`);
    return `${this.code}: ${this.message}${where.length ? ` (${where.join(', ')})` : ''}`;
  }
}

export function isSkyError(e: unknown, code?: ErrorCode): e is SkyError {
  return e instanceof SkyError && (code === undefined || e.code === code);
}
