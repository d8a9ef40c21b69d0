/**
 * Helper process for crash.test.ts (not a test itself): opens an embedded
 * registry in argv[2] and registers services named `<argv[3]>-<n>` forever,
 * several at a time, printing each UUID on stdout only after its put has been
 * acknowledged. The parent SIGKILLs it at an arbitrary moment. (Writes to a
 * pipe are synchronous on Linux, so a printed UUID has left this process.)
 */
import { systemClock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { EmbeddedRegistry } from './embedded.js';

const [dir, prefix = 'c'] = process.argv.slice(2);
if (!dir) throw new Error('usage: crash-child <dir> <prefix>');

const reg = new EmbeddedRegistry({ path: dir, clock: systemClock, logger: silentLogger, snapshotEvery: 150 });
await reg.start();
process.stdout.write('ready\n');

let n = 0;
async function worker(): Promise<void> {
  for (;;) {
    const uuid = `${prefix}-${n++}`;
    await reg.put({ UUID: uuid, Name: 'crash', Version: '1', Environment: 'test', Region: 'here', Host: '127.0.0.1', Port: 1000 + (n % 1000), TTL: 3600 });
    process.stdout.write(`${uuid}\n`);
  }
}
await Promise.all(Array.from({ length: 16 }, worker));
