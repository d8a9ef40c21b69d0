/**
 * Crash test at the HTTP level: `skydns serve` with the embedded registry
 * takes a stream of registrations, heartbeats and deletions from concurrent
 * keep-alive clients; it is SIGKILLed mid-stream, restarted on the same data
 * directory, and every acknowledged write must be there: each 201 present (or
 * expired by its TTL), each acknowledged heartbeat's expiry kept, each
 * acknowledged DELETE still deleted.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../bin/skydns', import.meta.url));
const WORKERS = 8;
const KILL_AFTER = 400; // acknowledged writes before the SIGKILL
const MAX_OPS = 20_000; // bound on the stream, whatever happens

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

/** Starts `skydns serve -c <dir>/Skyfile`; resolves once the api's log line gives its address. */
function serve(dir: string): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve', '-c', join(dir, 'Skyfile')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no api address logged within 10 s; stderr: ${stderr}`));
    }, 10_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let rec: { msg?: string; address?: string };
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (rec.msg?.startsWith('api listening on ') && rec.address) {
        clearTimeout(timer);
        resolve({ child, url: rec.address, exited });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`skydns serve exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
}

interface Acked {
  uuid: string;
  ttl: number;
  port: number;
  /** When the request was sent (the server's expiry is at least this + TTL). */
  sentAt: number;
}

const service = (uuid: string, ttl: number, port: number) => ({ Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: port, TTL: ttl, UUID: uuid });

async function send(method: string, url: string, body?: unknown): Promise<number> {
  const res = await fetch(url, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

describe('api crash test', () => {
  let dir = '';
  const started: ChildProcess[] = [];
  after(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGKILL under a stream of writes loses no acknowledged write, and the registry loads again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'skydns-api-crash-'));
    await writeFile(join(dir, 'Skyfile'), JSON.stringify({
      dns: { listen: ['127.0.0.1:0'] },
      registry: { backend: 'embedded', path: './data', snapshotEvery: 150 },
      chain: [{ api: { listen: '127.0.0.1:0' } }],
    }));
    const first = await serve(dir);
    started.push(first.child);
    const base = `${first.url}/skydns`;

    const puts = new Map<string, Acked>();
    const live: string[] = []; // acknowledged long-lived registrations, for heartbeats and deletes
    const deleted = new Set<string>();
    const deleting = new Set<string>();
    const patched = new Map<string, number>(); // uuid → sentAt of an acknowledged PATCH {TTL: 7200}
    let acks = 0;
    let next = 0;
    let killed = false;

    const worker = async (): Promise<void> => {
      while (!killed && next < MAX_OPS) {
        const i = next++;
        const sentAt = Date.now();
        try {
          if (i % 7 === 6 && live.length > 0) {
            const uuid = live.splice(i % live.length, 1)[0]!;
            deleting.add(uuid); // unacknowledged until the 200: it may or may not survive the kill
            if ((await send('DELETE', `${base}/services/${uuid}`)) === 200) deleted.add(uuid);
          } else if (i % 11 === 10 && live.length > 0) {
            const uuid = live[i % live.length]!;
            if ((await send('PATCH', `${base}/services/${uuid}`, { TTL: 7200 })) === 200 && !deleted.has(uuid)) patched.set(uuid, sentAt);
          } else {
            const uuid = `svc-${i}`;
            const ttl = i % 5 === 0 ? 1 : 3600;
            if ((await send('PUT', `${base}/services/${uuid}`, service(uuid, ttl, 1 + (i % 60000)))) !== 201) continue;
            puts.set(uuid, { uuid, ttl, port: 1 + (i % 60000), sentAt });
            if (ttl === 3600) live.push(uuid);
          }
          if (++acks === KILL_AFTER) {
            killed = true;
            first.child.kill('SIGKILL'); // other workers' requests are in flight right now
          }
        } catch {
          if (killed) return; // connection reset or refused: the server is gone
          throw new Error(`request ${i} failed before the kill`);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    assert.equal(killed, true, `the stream reached ${KILL_AFTER} acknowledged writes`);
    await first.exited;

    const second = await serve(dir);
    started.push(second.child);
    const res = await fetch(`${second.url}/skydns/services/`);
    const checkedAt = Date.now();
    assert.equal(res.status, 200);
    const after = new Map((await res.json() as Array<{ UUID: string; Port: number; Expires: string }>).map((s) => [s.UUID, s]));

    let present = 0;
    for (const a of puts.values()) {
      if (deleting.has(a.uuid)) continue; // deleted, or a DELETE was in flight at the kill

      const s = after.get(a.uuid);
      if (s) {
        present++;
        assert.equal(s.Port, a.port, `${a.uuid} kept its fields`);
      } else {
        assert.ok(a.sentAt + a.ttl * 1000 <= checkedAt, `acknowledged registration ${a.uuid} (TTL ${a.ttl}) is missing and cannot have expired`);
      }
    }
    for (const uuid of deleted) assert.equal(after.has(uuid), false, `acknowledged DELETE of ${uuid} is undone`);
    for (const [uuid, sentAt] of patched) {
      if (deleting.has(uuid)) continue;
      const s = after.get(uuid);
      assert.ok(s, `heartbeated ${uuid} is present`);
      assert.ok(Date.parse(s.Expires) >= sentAt + 7_200_000, `acknowledged heartbeat of ${uuid} kept its expiry`);
    }
    assert.ok(present > 0 && deleted.size > 0 && patched.size > 0, `the stream mixed writes (present ${present}, deleted ${deleted.size}, heartbeats ${patched.size})`);

    assert.equal(await send('PUT', `${second.url}/skydns/services/after-restart`, service('after-restart', 60, 80)), 201, 'the restarted server accepts writes');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });
});
