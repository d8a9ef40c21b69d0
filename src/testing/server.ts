/**
 * Starts a whole SkyDNS from a Skyfile string on 127.0.0.1 port 0 (UDP and
 * TCP on the same port) and queries it over real sockets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkyApp } from '../app.js';
import type { Clock } from '../clock.js';
import { parseSkyfile, type SkyConfig } from '../config/load.js';
import { silentLogger, type Logger } from '../logger.js';
import { queryTcp, queryUdp, type QueryOptions } from './client.js';
import { readWire, type DnsResult } from './harness.js';

export interface TestServerOptions {
  clock?: Clock;
  logger?: Logger;
  /** Directory relative paths resolve against (registry data, custom plugins); default a fresh temp dir, removed on stop. */
  baseDir?: string;
  /** Keep the Skyfile's own dns.listen instead of 127.0.0.1:0. */
  keepListen?: boolean;
}

export interface TestServer {
  app: SkyApp;
  config: SkyConfig;
  host: string;
  port: number;
  baseDir: string;
  /** Queries the server over UDP (rejects when no reply comes); the same result shape as `runPlugin`. */
  udp(name: string, type: string, o?: QueryOptions): Promise<DnsResult>;
  /** The same over TCP. */
  tcp(name: string, type: string, o?: QueryOptions): Promise<DnsResult>;
  stop(): Promise<void>;
}

export async function startServer(skyfile: string, opts: TestServerOptions = {}): Promise<TestServer> {
  const tmp = opts.baseDir ? null : await mkdtemp(join(tmpdir(), 'skydns-test-'));
  const baseDir = opts.baseDir ?? tmp!;
  const parsed = await parseSkyfile(skyfile, { baseDir });
  const config: SkyConfig = opts.keepListen ? parsed : { ...parsed, dns: { ...parsed.dns, listen: ['127.0.0.1:0'] } };
  const app = new SkyApp(config, { clock: opts.clock, logger: opts.logger ?? silentLogger });
  try {
    await app.start();
  } catch (err) {
    await app.stop(0).catch(() => undefined);
    if (tmp) await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const [addr] = app.server.addresses();
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(addr!)!;
  const host = m[1]!;
  const port = Number(m[2]);
  return {
    app,
    config,
    host,
    port,
    baseDir,
    udp: async (name, type, o) => readWire((await queryUdp(host, port, name, type, o)).raw),
    tcp: async (name, type, o) => readWire((await queryTcp(host, port, name, type, o)).raw),
    async stop() {
      await app.stop(1000);
      if (tmp) await rm(tmp, { recursive: true, force: true });
    },
  };
}
