import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prettyDestination, prettyLine } from './log-pretty.js';
import { createLogger } from './logger.js';

test('a pino line reads as time, level, plugin, message and key=value fields', () => {
  const t = new Date(2026, 10, 30, 8, 21, 4, 512).getTime();
  const line = JSON.stringify({ level: 40, time: t, plugin: 'forward', to: '192.0.2.1:53', fails: 2, note: 'two words', msg: 'upstream down' });
  assert.equal(prettyLine(line), '08:21:04.512 WARN  [forward] upstream down  to=192.0.2.1:53 fails=2 note="two words"\n');
  assert.equal(prettyLine(JSON.stringify({ level: 30, time: t, component: 'registry', msg: 'registry loaded' })), '08:21:04.512 INFO  [registry] registry loaded\n');
});

test('an error prints its message and its stack below; other lines pass through', () => {
  const out = prettyLine(JSON.stringify({ level: 50, time: 0, msg: 'plugin failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (x.js:1:2)' } }));
  assert.match(out, /ERROR plugin failed  err=boom\n    at f \(x\.js:1:2\)\n$/);
  assert.equal(prettyLine('not json'), 'not json\n');
});

test('createLogger with a pretty destination writes readable lines', () => {
  const lines: string[] = [];
  createLogger('info', prettyDestination({ write: (s: string) => void lines.push(s) })).info({ a: 1 }, 'hello');
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  hello  a=1\n$/);
});
