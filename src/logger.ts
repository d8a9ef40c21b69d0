import { pino } from 'pino';

/**
 * Structured logs (pino). Each plugin gets a child logger bound to its name.
 * Query logs are not written here: they belong to the `log` plugin.
 */
export type Logger = pino.Logger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
  return destination ? pino({ level, base: undefined }, destination) : pino({ level, base: undefined });
}

/** A logger that writes nothing: for tests and tools. */
export const silentLogger: Logger = pino({ level: 'silent' });
