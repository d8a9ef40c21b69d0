/**
 * A service process for test/api-register-exit.test.ts (not a test file):
 * registers with `register()` and does nothing else, so only the client's own
 * timer can keep it running. argv: API URL, UUID, then `exit` (deregister on
 * SIGTERM/SIGINT), `unref` (keepProcessAlive: false) or `plain` (defaults),
 * then the TTL (default 300).
 */
import { register } from '../src/client/index.js';

const [url, uuid, mode, ttl] = process.argv.slice(2) as [string, string, string, string | undefined];
const reg = await register(url, { UUID: uuid, Name: 'child', Version: '1', Environment: 'test', Region: 'here', Host: '127.0.0.1', Port: 9000, TTL: Number(ttl ?? 300) }, {
  deregisterOnExit: mode === 'exit',
  keepProcessAlive: mode !== 'unref',
  onError: (e) => process.stderr.write(`${e.code}: ${e.message}\n`),
});
process.stdout.write(`registered ${reg.uuid}\n`);
