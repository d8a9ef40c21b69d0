/**
 * The command line of `skydns serve` and `skydns check`: the Skyfile as
 * `-c FILE`, `--config FILE`, `--config=FILE` or one positional FILE
 * (default ./Skyfile). Anything else is refused with SKY_ERR_CLI_USAGE, so a
 * typo never falls back to another file silently.
 */
import { parseArgs } from 'node:util';
import { SkyError } from '../errors.js';

export const DEFAULT_SKYFILE = 'Skyfile';

/** The option lines of `--help` for a command that reads a Skyfile. */
export const skyfileUsage = `  -c, --config FILE  the Skyfile to read (default: ./${DEFAULT_SKYFILE}); FILE may also be given alone
  -h, --help         show this help`;

/** Spellings people try that are not options here, with what to write instead. */
const hints: Record<string, string> = {
  '--file': 'the Skyfile is given as -c FILE, --config FILE or as the only argument',
  '-f': 'the Skyfile is given as -c FILE, --config FILE or as the only argument',
};

function usageError(command: string, message: string): SkyError {
  return new SkyError('SKY_ERR_CLI_USAGE', `${command}: ${message} (see skydns ${command} --help)`);
}

/** The Skyfile named on the command line of `command`; throws SKY_ERR_CLI_USAGE for anything it does not understand. */
export function skyfileArg(command: string, args: string[]): string {
  for (const a of args) {
    const flag = a.split('=')[0]!;
    if (hints[flag]) throw usageError(command, `unknown option ${flag}: ${hints[flag]}`);
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    // node:util parseArgs messages are clear ("Unknown option '--x'", "Option '-c, --config <value>' argument missing").
    throw usageError(command, (err as Error).message.replace(/\.?\s*To specify .*$/s, '').replace(/\s*\n\s*/g, ' '));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw usageError(command, `one Skyfile expected, got ${positionals.length}: ${positionals.join(' ')}`);
  if (positionals.length === 1 && values.config !== undefined) throw usageError(command, `the Skyfile is given twice (-c ${values.config} and ${positionals[0]})`);
  const file = values.config ?? positionals[0] ?? DEFAULT_SKYFILE;
  if (file === '') throw usageError(command, 'the Skyfile name is empty');
  return file;
}

function parse(args: string[]) {
  return parseArgs({ args, strict: true, allowPositionals: true, options: { config: { type: 'string', short: 'c' } } });
}
