// Entry point of the `skydns` command (bin/skydns).
import { main } from './cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`skydns: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
