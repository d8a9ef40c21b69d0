import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSkyError } from '../../errors.js';
import { UDP_ENV, effectiveMode, resolveUdpPath } from './choose.js';
import { nativeBinding } from './native.js';

function withEnv<T>(value: string | undefined, fn: () => T): T {
  const old = process.env[UDP_ENV];
  if (value === undefined) delete process.env[UDP_ENV];
  else process.env[UDP_ENV] = value;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env[UDP_ENV];
    else process.env[UDP_ENV] = old;
  }
}

test('SKYDNS_UDP overrides dns.udp; anything else in it is ignored', () => {
  withEnv('dgram', () => assert.equal(effectiveMode('native'), 'dgram'));
  withEnv('native', () => assert.equal(effectiveMode('dgram'), 'native'));
  withEnv('bogus', () => assert.equal(effectiveMode('dgram'), 'dgram'));
  withEnv(undefined, () => assert.equal(effectiveMode(undefined), 'auto'));
});

test('auto is native when the addon loaded, else dgram; native without it is SKY_ERR_UDP_NATIVE_UNAVAILABLE', () => {
  const have = 'binding' in nativeBinding();
  withEnv(undefined, () => {
    assert.equal(resolveUdpPath('dgram'), 'dgram');
    assert.equal(resolveUdpPath('auto'), have ? 'native' : 'dgram');
    if (have) assert.equal(resolveUdpPath('native'), 'native');
    else assert.throws(() => resolveUdpPath('native'), (e) => isSkyError(e, 'SKY_ERR_UDP_NATIVE_UNAVAILABLE'));
  });
});
