#!/usr/bin/env node
/**
 * The floor under SkyDNS: a bare Node UDP responder that answers every query with the same
 * pre-encoded reply (ID patched in), no parsing, no chain. Run it under dnsperf to see what
 * Node's socket path alone costs on this machine, and whether giving `socket.send` a
 * callback (as src/server/server.ts does, to know when the datagram has left) costs more.
 *
 *   node bench/experiments/bare-udp.mjs --port 15340 [--callback] [--reply-from PORT] [--bytes 1127]
 *
 * The reply is copied from a real server's answer (`--reply-from`: SRV of
 * svc1.production.skydns.local) or, without it, a header plus `--bytes` of padding.
 * Prints "ready" when bound; stops on SIGTERM. Loopback only.
 */
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';
import { encodeQuery } from '../lib/dnswire.mjs';

const { values: o } = parseArgs({
  options: { port: { type: 'string' }, callback: { type: 'boolean', default: false }, 'reply-from': { type: 'string' }, bytes: { type: 'string', default: '1127' } },
});

async function fetchReply(port) {
  const s = dgram.createSocket('udp4');
  const got = new Promise((resolve, reject) => {
    s.once('message', resolve);
    setTimeout(() => reject(new Error(`no answer from 127.0.0.1:${port}`)), 2000).unref();
  });
  s.send(encodeQuery(1, 'svc1.production.skydns.local', 'SRV', { rd: true }), Number(port), '127.0.0.1');
  try {
    return await got;
  } finally {
    s.close();
  }
}

let reply;
if (o['reply-from']) reply = Buffer.from(await fetchReply(o['reply-from']));
else {
  reply = Buffer.alloc(Math.max(12, Number(o.bytes)));
  reply.writeUInt16BE(0x8400, 2); // QR, AA, NOERROR
}

const sock = dgram.createSocket('udp4');
const noop = () => undefined;
sock.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  const out = Buffer.allocUnsafe(reply.length); // a fresh buffer per reply, as a real server needs
  reply.copy(out);
  out[0] = msg[0];
  out[1] = msg[1];
  if (o.callback) sock.send(out, rinfo.port, rinfo.address, noop);
  else sock.send(out, rinfo.port, rinfo.address);
});
sock.bind(Number(o.port), '127.0.0.1', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => sock.close(() => process.exit(0)));
