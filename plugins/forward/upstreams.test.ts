import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSkyError } from '../../src/errors.js';
import { parseAddress, parseResolvConf, resolveUpstreams } from './upstreams.js';

test('to entries: host:port, bare host (port 53), IPv6 with and without port, dns://', () => {
  const cases: [string, string | null][] = [
    ['127.0.0.1:5300', '127.0.0.1:5300'],
    ['192.0.2.1', '192.0.2.1:53'],
    ['[::1]:5353', '[::1]:5353'],
    ['[2001:db8::1]', '[2001:db8::1]:53'],
    ['2001:db8::53', '[2001:db8::53]:53'],
    ['dns://9.9.9.9:53', '9.9.9.9:53'],
    ['localhost:5300', '127.0.0.1:5300'],
    ['/etc/resolv.conf', null],
    ['resolv.conf', null],
    ['dns.example:53', null],
    ['127.0.0.1:0', null],
    ['127.0.0.1:70000', null],
  ];
  for (const [entry, want] of cases) assert.equal(parseAddress(entry)?.name ?? null, want, entry);
});

test('resolv.conf: nameserver lines in order, comments and other directives ignored', () => {
  const text = [
    '# generated',
    'search example.org',
    'nameserver 192.0.2.53',
    '; nameserver 192.0.2.99',
    'nameserver   2001:db8::53   # trailing comment',
    'options ndots:2',
    'nameserver not-an-ip',
    'nameserver fe80::1%eth0',
  ].join('\n');
  assert.deepEqual(parseResolvConf(text).map((u) => u.name), ['192.0.2.53:53', '[2001:db8::53]:53', '[fe80::1%eth0]:53']);
});

test('resolveUpstreams reads resolv.conf files relative to the Skyfile and de-duplicates', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skydns-fwd-'));
  try {
    await writeFile(join(dir, 'resolv.conf'), 'nameserver 192.0.2.1\nnameserver 192.0.2.2\n');
    await writeFile(join(dir, 'empty.conf'), 'search example.org\n');
    const list = resolveUpstreams(['192.0.2.2:53', 'resolv.conf'], dir, 'chain[0].forward');
    assert.deepEqual(list.map((u) => u.name), ['192.0.2.2:53', '192.0.2.1:53']);
    assert.throws(() => resolveUpstreams(['empty.conf'], dir, 'chain[0].forward'), (e) => isSkyError(e, 'SKY_ERR_FORWARD_RESOLV_CONF') && e.path === 'chain[0].forward.to[0]');
    assert.throws(() => resolveUpstreams(['192.0.2.1', 'missing.conf'], dir, 'chain[3].forward'), (e) => isSkyError(e, 'SKY_ERR_FORWARD_UPSTREAM') && e.path === 'chain[3].forward.to[1]');
    assert.throws(() => resolveUpstreams(['tls://192.0.2.1'], dir, 'x'), (e) => isSkyError(e, 'SKY_ERR_FORWARD_UPSTREAM'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
