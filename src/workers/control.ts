/**
 * The control protocol between the primary of a `workers` group and its
 * workers (registry traffic and metrics have their own protocols on the same
 * channel):
 *
 *   worker → primary   { op: 'config?' }                       which Skyfile text to run
 *                      { op: 'started', addresses }            serving
 *                      { op: 'failed', error }                 could not start (then it exits)
 *                      { op: 'reloaded', id, error? }          answer to a reload
 *   primary → worker   { op: 'config', text }                  the Skyfile text the primary validated
 *                      { op: 'reload', id, text }              apply this validated Skyfile text
 *                      { op: 'stop', graceMs }                 finish what is in flight, then exit 0
 *
 * Workers run exactly the text the primary validated (never the file as it
 * is on disk later), so a re-forked worker runs the last good configuration
 * even while a broken Skyfile sits on disk.
 */
import { SkyError, ERRORS, isSkyError, type ErrorCode } from '../errors.js';

export const CONTROL = 'control';

/** A start or reload error as it crosses the channel: code, message, key path and line survive. */
export interface WireFailure {
  code?: string;
  message: string;
  path?: string;
  line?: number;
  column?: number;
}

export function failureToWire(err: unknown): WireFailure {
  if (isSkyError(err)) {
    return { code: err.code, message: err.message, ...(err.path !== undefined ? { path: err.path } : {}), ...(err.line !== undefined ? { line: err.line } : {}), ...(err.column !== undefined ? { column: err.column } : {}) };
  }
  return { message: (err as Error)?.message ?? String(err) };
}

export function failureFromWire(w: WireFailure, what: string): Error {
  if (w.code && w.code in ERRORS) return new SkyError(w.code as ErrorCode, w.message, { path: w.path, line: w.line, column: w.column });
  return new Error(`${what}: ${w.message}`);
}

/** One line for logs: the SKY_ERR description when there is one. */
export function describeFailure(err: unknown): string {
  return isSkyError(err) ? err.describe() : (err as Error)?.message ?? String(err);
}
