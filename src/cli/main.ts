/**
 * `skydns <command>`: serve, check, and the registry commands. Each command
 * is a small module; this file only dispatches and reports errors.
 */
import { readFileSync } from 'node:fs';
import { isSkyError } from '../errors.js';
import { checkCommand } from './check.js';
import { dnssecCommand } from '../../plugins/dnssec/ds-command.js';
import { lsCommand, registerCommand, rmCommand } from './registry-commands.js';
import { serveCommand } from './serve.js';

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  serve: serveCommand,
  check: checkCommand,
  register: registerCommand,
  ls: lsCommand,
  rm: rmCommand,
  dnssec: dnssecCommand,
};

/** Registers a command (used by command modules that live beside their feature). */
export function addCommand(name: string, c: Command): void {
  commands[name] = c;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): string {
  const lines = ['Usage: skydns <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Options:', '  -h, --help     show help (also: skydns <command> --help)', '  -v, --version  print the version');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(help() + '\n');
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '-v' || cmd === '--version' || cmd === 'version') {
    process.stdout.write(`skydns ${version()}\n`);
    return 0;
  }
  const c = commands[cmd];
  if (!c) {
    process.stderr.write(`skydns: unknown command "${cmd}"\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(`Usage: ${c.usage}\n\n${c.summary}\n`);
    return 0;
  }
  try {
    return await c.run(rest);
  } catch (err) {
    process.stderr.write(`skydns: ${isSkyError(err) ? err.describe() : (err as Error).stack ?? String(err)}\n`);
    return isSkyError(err, 'SKY_ERR_CLI_USAGE') ? 2 : 1;
  }
}
