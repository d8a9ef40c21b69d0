/**
 * `skydns register | ls | rm` as a user runs them: `node bin/skydns ...`
 * against a whole server with the api on 127.0.0.1 port 0.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ApiPlugin } from '../plugins/api/index.js';
import { startServer, type TestServer } from '../src/testing/server.js';

const BIN = fileURLToPath(new URL('../../bin/skydns', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function skydns(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, SKYDNS_API: '', SKYDNS_SECRET: '', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function boot(api: Record<string, unknown> = {}): Promise<{ srv: TestServer; url: string }> {
  const srv = await startServer(JSON.stringify({ chain: [{ api: { listen: '127.0.0.1:0', ...api } }] }));
  return { srv, url: (srv.app.plugins.find((l) => l.name === 'api')!.plugin as ApiPlugin).url() };
}

const WEB1 = ['--uuid', 'web1', '--name', 'web', '--version', '1.0.1', '--environment', 'production', '--region', 'east', '--host', '10.0.0.1', '--port', '8080', '--ttl', '300'];

describe('skydns register / ls / rm', () => {
  let s: { srv: TestServer; url: string };
  before(async () => {
    s = await boot();
  });
  after(() => s.srv.stop());
  const reg = () => s.srv.app.registryIfOpen!;

  it('register stores the service and says so; the same UUID again takes it over (a restarted service), with --no-replace exits 1 with the 409', async () => {
    const ok = await skydns(['register', '--api', s.url, ...WEB1]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^registered web1: web 1\.0\.1 production\/east at 10\.0\.0\.1:8080 \(TTL 300s, expires \S+Z\)\n$/);
    assert.equal(reg().get('web1')?.Port, 8080);
    const dup = await skydns(['register', '--api', s.url, '--no-replace', ...WEB1, '--port', '8081']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /HTTP 409 SKY_ERR_REGISTRY_EXISTS: .*web1.*leave out --no-replace.*\(field UUID\)/);
    assert.equal(reg().get('web1')?.Port, 8080);
    const back = await skydns(['register', '--api', s.url, ...WEB1, '--port', '8081']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(reg().get('web1')?.Port, 8081, 'taken over at once');
  });

  it('register reports every missing flag in one usage error (exit 2), and --help shows them as required', async () => {
    const r = await skydns(['register', '--api', s.url, '--name', 'api', '--host', '192.0.2.20', '--port', '9000', '--ttl', '300']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^skydns register: --version, --environment, --region are required\n/);
    const bad = await skydns(['register', '--api', s.url, '--name', 'api', '--port', 'x', '--ttl', '5m']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--version, --environment, --region, --host are required; --port must be a whole number, got "x"; --ttl must be a whole number, got "5m"/);
    const help = await skydns(['register', '--help']);
    assert.equal(help.code, 0, help.stderr);
    const usageLine = (help.stdout + help.stderr).split('\n').find((l) => l.includes('skydns register --name'))!;
    for (const f of ['--name NAME', '--version V', '--environment E', '--region R', '--host HOST', '--port PORT', '--ttl SECONDS']) {
      assert.ok(usageLine.includes(f) && !usageLine.includes(`[${f}`), `${f} is shown as required: ${usageLine}`);
    }
  });

  it('the server reports every invalid value in one error (exit 1), naming each field', async () => {
    const r = await skydns(['register', '--api', s.url, '--uuid', 'bad', '--name', 'a.b', '--version', '1', '--environment', 'p', '--region', 'r', '--host', 'bad host', '--port', '0', '--ttl', '5']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 400 SKY_ERR_REGISTRY_INVALID: 3 fields are invalid: Name .*; Host .*; Port .* \(fields Name, Host, Port\)/);
  });

  it('register reports the server\'s validation error naming the field (exit 1), and usage errors (exit 2)', async () => {
    const port0 = await skydns(['register', '--api', s.url, ...WEB1.slice(2), '--uuid', 'p0', '--port', '0']);
    assert.equal(port0.code, 1);
    assert.match(port0.stderr, /HTTP 400 SKY_ERR_REGISTRY_INVALID: Port .*\(field Port\)/);
    const noRegion = await skydns(['register', '--api', s.url, '--name', 'web', '--version', '1', '--environment', 'p', '--host', 'h', '--port', '1', '--ttl', '5']);
    assert.equal(noRegion.code, 2);
    assert.match(noRegion.stderr, /--region is required/);
    for (const args of [['--name', 'web', '--port', '1', '--ttl', '5'], [...WEB1, '--port', 'http'], [...WEB1, '--colour', 'red'], ['--api', 'not a url', ...WEB1]]) {
      const r = await skydns(['register', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^skydns register: .+\nRun "skydns register --help" for usage\.\n$/);
    }
    assert.equal(reg().get('p0'), undefined);
  });

  it('register --json prints the stored record; a UUID is generated when none is given', async () => {
    const r = await skydns(['register', '--api', s.url, '--json', ...WEB1.slice(2), '--region', 'west', '--priority', '10', '--weight', '5']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { UUID: string; Region: string; Priority: number; Weight: number; TTL: number };
    assert.match(out.UUID, /^[0-9a-f-]{36}$/);
    assert.deepEqual([out.Region, out.Priority, out.Weight, out.TTL], ['west', 10, 5, 300]);
    assert.equal(reg().get(out.UUID)?.Region, 'west');
  });

  it('ls lists services as a table, filters by pattern, prints JSON, and refuses a bad pattern', async () => {
    const all = await skydns(['ls', '--api', s.url]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trim().split('\n');
    assert.match(lines[0]!, /^UUID\s+NAME\s+VERSION\s+ENVIRONMENT\s+REGION\s+HOST\s+PORT\s+TTL\s+EXPIRES$/);
    assert.equal(lines.length, 1 + reg().list().length);
    const east = await skydns(['ls', 'east.any.web.production', '--api', s.url, '--json']);
    assert.deepEqual((JSON.parse(east.stdout) as Array<{ UUID: string }>).map((x) => x.UUID), ['web1']);
    const none = await skydns(['ls', 'nowhere.any.web.production', '--api', s.url]);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /no services match "nowhere\.any\.web\.production"/);
    const bad = await skydns(['ls', 'a..b', '--api', s.url]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /HTTP 400 SKY_ERR_API_BAD_REQUEST: .*\(field query\)/);
  });

  it('rm deregisters (exit 0), then exits 1 with the 404; the API address also comes from $SKYDNS_API', async () => {
    const rm = await skydns(['rm', 'web1'], { SKYDNS_API: s.url });
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /^removed web1: /);
    assert.equal(reg().get('web1'), undefined);
    const again = await skydns(['rm', 'web1', '--api', s.url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /HTTP 404 SKY_ERR_REGISTRY_NOT_FOUND/);
    const missing = await skydns(['rm', '--api', s.url]);
    assert.equal(missing.code, 2);
  });

  it('an API that is not there is exit 1 with SKY_ERR_API_UNREACHABLE', async () => {
    const stopped = await boot();
    await stopped.srv.stop();
    const r = await skydns(['ls', '--api', stopped.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^skydns ls: SKY_ERR_API_UNREACHABLE: /);
  });

  it('register --keepalive stays registered until SIGTERM, then deregisters and exits 0', async () => {
    const child = spawn(process.execPath, [BIN, 'register', '--api', s.url, '--keepalive', ...WEB1.slice(2), '--uuid', 'kept'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve();
      });
      child.once('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    assert.match(out, /^registered kept: /);
    assert.equal(reg().get('kept')?.Port, 8080);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(out, /deregistered kept\n$/);
    assert.equal(reg().get('kept'), undefined);
  });
});

describe('skydns register / ls with a secret', () => {
  let s: { srv: TestServer; url: string };
  before(async () => {
    s = await boot({ secret: 'tok' });
  });
  after(() => s.srv.stop());

  it('without it: exit 1 with the 401; with --secret or $SKYDNS_SECRET: works', async () => {
    const no = await skydns(['ls', '--api', s.url]);
    assert.equal(no.code, 1);
    assert.match(no.stderr, /HTTP 401 SKY_ERR_API_UNAUTHORIZED.*\n.*pass --secret or set \$SKYDNS_SECRET\n$/);
    const reg = await skydns(['register', '--api', s.url, ...WEB1]);
    assert.equal(reg.code, 1);
    assert.match(reg.stderr, /^skydns register: HTTP 401 SKY_ERR_API_UNAUTHORIZED: cannot register web1: .*--secret or \$SKYDNS_SECRET/);
    assert.equal((await skydns(['register', '--api', s.url, '--secret', 'tok', ...WEB1])).code, 0);
    const ls = await skydns(['ls', '--api', s.url, '--json'], { SKYDNS_SECRET: 'tok' });
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal((JSON.parse(ls.stdout) as unknown[]).length, 1);
  });
});
