/**
 * A human-readable form of the server's pino lines, for a terminal:
 *
 *   08:21:04.512 INFO  [forward] upstream down  to=192.0.2.1:53 fails=2
 *
 * time (local, to the millisecond), level, the plugin or component, the
 * message, then the other fields as key=value (JSON values where they are
 * not plain). An `err` field prints its message, and its stack indented on
 * the next lines. Lines that are not pino JSON pass through unchanged.
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function show(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON line → one or more readable lines (each ending in \n). */
export function prettyLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  if (rec === null || typeof rec !== 'object') return `${line.trimEnd()}\n`;
  const { level, time, msg, plugin, component, err, ...rest } = rec;
  const who = plugin ?? component;
  const head = [
    typeof time === 'number' ? clock(time) : '',
    (LEVELS[level as number] ?? String(level)).padEnd(5),
    who === undefined ? '' : `[${String(who)}]`,
    typeof msg === 'string' ? msg : '',
  ].filter((s) => s !== '').join(' ');
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${show(v)}`);
  let out = fields.length ? `${head}  ${fields.join(' ')}` : head;
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; stack?: unknown };
    out += `  err=${show(e.message ?? err)}`;
    if (typeof e.stack === 'string') out += `\n${e.stack.split('\n').slice(1).map((l) => `    ${l.trim()}`).join('\n')}`;
  } else if (err !== undefined) out += `  err=${show(err)}`;
  return `${out}\n`;
}

/** A pino destination that writes readable lines to `out` (default stdout). */
export function prettyDestination(out: { write(s: string): unknown } = process.stdout): DestinationStream {
  return { write: (line: string) => void out.write(prettyLine(line)) };
}
