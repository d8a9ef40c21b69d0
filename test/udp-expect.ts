/** The UDP path a server started by the tests should serve on (SKYDNS_UDP, else native when the addon loaded). */
import { resolveUdpPath } from '../src/server/udp/choose.js';
import type { UdpPath } from '../src/server/udp/socket.js';

export function expectedUdpPath(): UdpPath {
  return resolveUdpPath('auto');
}
