/** Whether the `dig` client (dnsutils) is on this machine, for the tests that query with it. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function haveDig(): Promise<boolean> {
  try {
    await run('dig', ['-v']);
    return true;
  } catch {
    return false;
  }
}
