import { pino } from 'pino';
import { prettyDestination } from './log-pretty.js';

/**
 * Structured logs (pino). Each plugin gets a child logger bound to its name.
 * Query logs are not written here: they belong to the `log` plugin.
 */
export type Logger = pino.Logger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/**
 * How the server's own log lines look: `json` (one pino JSON object a line,
 * for log collectors), `pretty` (readable, see log-pretty.ts), or `auto`:
 * pretty when stdout is a terminal, JSON otherwise (journald, files, pipes).
 */
export type LogFormat = 'json' | 'pretty' | 'auto';

export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream | LogFormat): Logger {
  let dest = destination;
  if (dest === 'auto') dest = process.stdout.isTTY ? 'pretty' : 'json';
  if (dest === 'pretty') dest = prettyDestination();
  return dest && dest !== 'json' ? pino({ level, base: undefined }, dest) : pino({ level, base: undefined });
}

/** A logger that writes nothing: for tests and tools. */
export const silentLogger: Logger = pino({ level: 'silent' });
