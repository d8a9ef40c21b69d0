/**
 * Which UDP implementation serves: the Skyfile's `dns.udp` ("auto" by
 * default), overridden by the SKYDNS_UDP environment variable (so a whole
 * test suite can run on either path). "auto" is native when the addon loaded
 * on Linux, else dgram; "native" when the addon is unavailable is an error.
 */
import { SkyError } from '../../errors.js';
import { DgramUdpClient, DgramUdpSocket } from './dgram.js';
import { NativeUdpSocket, nativeBinding, nativeUdpClient } from './native.js';
import type { UdpBindOptions, UdpClient, UdpClientHandler, UdpPath, UdpPeer, UdpSink, UdpSocket } from './socket.js';

export type UdpMode = 'auto' | UdpPath;

export const UDP_ENV = 'SKYDNS_UDP';

/** The mode in force: SKYDNS_UDP when set to a known value, else the Skyfile's. */
export function effectiveMode(configured: UdpMode | undefined): UdpMode {
  const env = process.env[UDP_ENV];
  if (env === 'auto' || env === 'native' || env === 'dgram') return env;
  return configured ?? 'auto';
}

/** Resolves a mode to the path that will serve; throws SKY_ERR_UDP_NATIVE_UNAVAILABLE for "native" without the addon. */
export function resolveUdpPath(configured: UdpMode | undefined, path = 'dns.udp'): UdpPath {
  const mode = effectiveMode(configured);
  if (mode === 'dgram') return 'dgram';
  const b = nativeBinding();
  if ('binding' in b) return 'native';
  if (mode === 'auto') return 'dgram';
  const from = process.env[UDP_ENV] === 'native' ? `${UDP_ENV}=native` : `${path} is "native"`;
  throw new SkyError('SKY_ERR_UDP_NATIVE_UNAVAILABLE', `${from} but ${b.reason}`, { path });
}

/** The path `configured` resolves to, or dgram where resolveUdpPath would throw (the server reports that itself). */
export function udpPathFor(configured: UdpMode | undefined): UdpPath {
  try {
    return resolveUdpPath(configured);
  } catch {
    return 'dgram';
  }
}

/** Why "auto" fell back to dgram (undefined when native is available). */
export function nativeUnavailableReason(): string | undefined {
  const b = nativeBinding();
  return 'reason' in b ? b.reason : undefined;
}

export function bindUdp(path: UdpPath, o: UdpBindOptions, sink: UdpSink): Promise<UdpSocket> {
  return path === 'native' ? NativeUdpSocket.bind(o, sink) : DgramUdpSocket.bind(o, sink);
}

/**
 * A connected client socket to `peer` on `path` (the server's). Native falls
 * back to dgram only when the addon is missing; an error opening a native
 * socket (EMFILE, ...) is thrown, as dgram would report it.
 */
export function openUdpClient(path: UdpPath, peer: UdpPeer, handler: UdpClientHandler): UdpClient {
  if (path === 'native' && 'binding' in nativeBinding()) return nativeUdpClient(peer, handler);
  return new DgramUdpClient(peer, handler);
}

/** The path as the start-up log line says it. */
export function describeUdpPath(p: UdpPath | undefined): string {
  return p === 'native' ? 'the native batched socket (recvmmsg/sendmmsg)' : p === 'dgram' ? 'node:dgram' : 'no UDP listener';
}
