/**
 * The zone's rules as a real client meets them (a whole server, skydns and
 * synth in front of nothing, asked with dig over UDP): empty non-terminals
 * and the apex are NODATA, never NXDOMAIN (RFC 1034 §4.3.2, RFC 8020 §2); no
 * CNAME beside other data (RFC 1034 §3.6.2, RFC 2181 §10.1); a TSIG-signed
 * query for a key the server does not know is NOTAUTH with TSIG error BADKEY
 * (RFC 8945 §5.2.2).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Registry, Service } from '../src/registry/types.js';
import { startServer, type TestServer } from '../src/testing/server.js';
import { haveDig } from './dig.js';

const run = promisify(execFile);
const ZONE = 'skydns.local';

const svc = (uuid: string, over: Partial<Service> = {}): Service =>
  ({ UUID: uuid, Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 8080, TTL: 30, ...over });

/** The parts of dig's output the rules are about. */
interface Dug {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  text: string;
}

function section(text: string, name: string): string[] {
  const m = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(text);
  return m ? m[1]!.split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.split(/\s+/).join(' ')) : [];
}

describe('zone rules, asked with dig', () => {
  let srv: TestServer;
  let registry: Registry;
  let skip = false;

  async function dig(...args: string[]): Promise<Dug> {
    const { stdout } = await run('dig', [`@${srv.host}`, '-p', String(srv.port), '+time=2', '+tries=1', '+norecurse', ...args]);
    const header = /status: (\w+)/.exec(stdout);
    const flags = /;; flags: ([^;]*);/.exec(stdout);
    return { status: header?.[1] ?? '', flags: flags?.[1]!.trim().split(' ') ?? [], answer: section(stdout, 'ANSWER'), authority: section(stdout, 'AUTHORITY'), text: stdout };
  }

  /** NOERROR, AA, no answer and the zone's SOA: what an existing name without the type gets. */
  function assertNodata(d: Dug, what: string): void {
    assert.equal(d.status, 'NOERROR', `${what}\n${d.text}`);
    assert.ok(d.flags.includes('aa'), `${what}: AA\n${d.text}`);
    assert.deepEqual(d.answer, [], `${what}: no answer\n${d.text}`);
    assert.equal(d.authority.length, 1, `${what}: the SOA\n${d.text}`);
    assert.match(d.authority[0]!, /^skydns\.local\. \d+ IN SOA ns\.dns\.skydns\.local\. /i, what);
  }

  before(async () => {
    skip = !(await haveDig());
    srv = await startServer(JSON.stringify({ registry: { fsync: false }, chain: [{ skydns: { zone: ZONE } }, { synth: { zone: ZONE } }] }));
    registry = await srv.app.registry();
  });

  after(() => srv.stop());

  it('answers the apex of an empty zone NODATA for every type but SOA and NS', async (t) => {
    if (skip) return noDig(t);
    for (const type of ['A', 'AAAA', 'CNAME', 'SRV', 'TXT', 'MX']) assertNodata(await dig(type, ZONE), `${ZONE} ${type}`);
    assertNodata(await dig('A', 'SkyDNS.LOCAL'), 'SkyDNS.LOCAL A');
    const soa = await dig('SOA', ZONE);
    assert.equal(soa.status, 'NOERROR');
    assert.match(soa.answer[0] ?? '', / IN SOA /);
  });

  it('answers empty non-terminals NODATA at every depth, in any case, NXDOMAIN only with nothing below', async (t) => {
    if (skip) return noDig(t);
    await registry.put(svc('w1'));
    await registry.put(svc('d1', { Name: 'db', Environment: 'Staging', Host: '10.0.0.9' }));
    const srvOf = await dig('SRV', `_web._tcp.production.${ZONE}`);
    assert.equal(srvOf.status, 'NOERROR');
    assert.deepEqual(srvOf.answer, [`_web._tcp.production.${ZONE}. 30 IN SRV 10 100 8080 w1.${ZONE}.`]);
    for (const name of [`_tcp.production.${ZONE}`, `_udp.production.${ZONE}`, `_TCP.STAGING.${ZONE}`, `_tcp.any.${ZONE}`]) {
      for (const type of ['A', 'AAAA', 'SRV', 'TXT', 'NS']) assertNodata(await dig(type, name), `${name} ${type}`);
    }
    // every ancestor of a full service name has data
    for (const name of [`w1.10-0-0-1.east.1-0-1.web.production.${ZONE}`, `10-0-0-1.EAST.1-0-1.web.production.${ZONE}`, `1-0-1.web.production.${ZONE}`, `production.${ZONE}`]) {
      const d = await dig('SRV', name);
      assert.equal(d.status, 'NOERROR', name);
      assert.equal(d.answer.length, 1, `${name}\n${d.text}`);
      assertNodata(await dig('TXT', name), `${name} TXT`);
    }
    for (const name of [`_tcp.nothing.${ZONE}`, `x._tcp.production.${ZONE}`, `nothing.production.${ZONE}`]) {
      const d = await dig('A', name);
      assert.equal(d.status, 'NXDOMAIN', `${name}\n${d.text}`);
      assert.ok(d.flags.includes('aa'));
      assert.match(d.authority[0] ?? '', / IN SOA /);
    }
    await registry.remove('w1');
    await registry.remove('d1');
    assert.equal((await dig('A', `_tcp.production.${ZONE}`)).status, 'NXDOMAIN', 'nothing below any more');
  });

  it('never answers a CNAME beside other data: not at the apex, not at a service name', async (t) => {
    if (skip) return noDig(t);
    await registry.put(svc('h1', { Name: 'db', Host: 'db1.example.org' }));
    try {
      // the apex and db.production select only h1, registered by host name
      for (const name of [ZONE, `db.production.${ZONE}`, `h1.${ZONE}`]) {
        for (const type of ['A', 'AAAA', 'CNAME']) {
          const d = await dig(type, name);
          assertNodata(d, `${name} ${type}`);
          const records = d.text.split('\n').filter((l) => l.trim() && !l.startsWith(';'));
          assert.ok(records.every((l) => !/\sCNAME\s/.test(l)), `${name} ${type}: no CNAME record\n${d.text}`);
        }
      }
      const srvOf = await dig('SRV', `db.production.${ZONE}`);
      assert.deepEqual(srvOf.answer, [`db.production.${ZONE}. 30 IN SRV 10 100 8080 db1.example.org.`]);
      const soa = await dig('SOA', ZONE);
      assert.match(soa.answer[0] ?? '', / IN SOA /);
    } finally {
      await registry.remove('h1');
    }
  });

  it('answers a query signed with a key it does not know NOTAUTH with TSIG error BADKEY, over UDP and TCP', async (t) => {
    if (skip) return noDig(t);
    for (const transport of ['+notcp', '+tcp']) {
      const d = await dig(transport, '-y', 'hmac-sha256:somekey:c2VjcmV0', 'SOA', ZONE);
      assert.equal(d.status, 'NOTAUTH', d.text);
      assert.deepEqual(d.answer, [], d.text);
      // dig reads the TSIG record of the reply: its error field, and that it is unsigned
      assert.match(d.text, /somekey\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\.\s+\d+ \d+ 0\s+\d+ BADKEY 0/, d.text);
      // without the signature the same question is answered
      const plain = await dig(transport, 'SOA', ZONE);
      assert.equal(plain.status, 'NOERROR');
    }
  });
});

function noDig(t: { skip(msg: string): void }): void {
  if (process.env.CI === 'true') assert.fail('dig is not installed (CI installs dnsutils)');
  t.skip('dig not installed');
}
