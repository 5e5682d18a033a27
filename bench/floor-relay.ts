/**
 * The least a Node.js two-hop mutual-TLS tunnel can do, as a reference beside our gateways: one TLS
 * connection per client connection, `socket.pipe` both ways, no HTTP/2, no policy, no metrics, no
 * logs. Same TLS settings as the gateway (dataplane/tls-settings.ts). What it costs per byte is what
 * Node's net and tls layers cost; no relay written in JavaScript on them can cost less.
 *
 *   node lib/bench/floor-relay.js b CERTS B_PORT SVC_REDIS SVC_IPERF   (mTLS in, SNI picks the service)
 *   node lib/bench/floor-relay.js a CERTS B_PORT A_REDIS A_IPERF       (plain TCP in, mTLS out)
 *
 * CERTS is a folder made by ../shared/bench/anchors/certs.sh (ca.crt, gw-a.*, gw-b.*). Prints
 * `READY` once listening.
 */
import { fstatSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { GATEWAY_TLS } from '../dataplane/tls-settings';

const SERVICES = ['redis', 'iperf'] as const;

function pipeBoth(x: net.Socket, y: net.Socket): void {
  x.setNoDelay(true);
  y.setNoDelay(true);
  x.pipe(y);
  y.pipe(x);
  x.on('error', () => y.destroy());
  y.on('error', () => x.destroy());
  x.on('close', () => y.destroy());
  y.on('close', () => x.destroy());
}

function main(): void {
  const [side, certs, bPort, port1, port2] = process.argv.slice(2);
  if ((side !== 'a' && side !== 'b') || !certs || !bPort || !port1 || !port2)
    throw new Error('usage: floor-relay.js a|b CERTS B_PORT PORT_REDIS PORT_IPERF');
  const read = (f: string): Buffer => readFileSync(path.join(certs, f));
  const ports = [Number(port1), Number(port2)];
  let listening = 0;
  const ready = (): void => {
    if (++listening === (side === 'a' ? 2 : 1)) console.log('READY');
  };
  if (side === 'b') {
    const targets = new Map(SERVICES.map((s, i) => [`${s}.gw-b.test`, ports[i]]));
    const server = tls.createServer(
      {
        ...GATEWAY_TLS,
        ca: read('ca.crt'),
        cert: read('gw-b.crt'),
        key: read('gw-b.key'),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        const port = targets.get((socket as tls.TLSSocket & { servername?: string }).servername ?? '');
        if (!port) return socket.destroy();
        pipeBoth(socket, net.connect({ host: '127.0.0.1', port }));
      },
    );
    server.listen(Number(bPort), '127.0.0.1', ready);
    return;
  }
  const context = tls.createSecureContext({
    ...GATEWAY_TLS,
    ca: read('ca.crt'),
    cert: read('gw-a.crt'),
    key: read('gw-a.key'),
  });
  SERVICES.forEach((service, i) => {
    net
      .createServer((client) => {
        const servername = `${service}.gw-b.test`;
        const upstream = tls.connect({
          host: '127.0.0.1',
          port: Number(bPort),
          secureContext: context,
          servername,
        });
        pipeBoth(client, upstream);
      })
      .listen(ports[i], '127.0.0.1', ready);
  });
}

main();
// Started by the benchmark, stdin is a pipe from it: its end means the parent is gone.
if (fstatSync(0).isFIFO()) process.stdin.on('end', () => process.exit(0)).resume();
