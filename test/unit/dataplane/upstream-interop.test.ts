/**
 * Our client against a gateway that behaves like upstream ClusterLink: an SNI-routed port where the
 * peer name reaches the control plane (/authz, token in the JSON body, no same-connection CONNECT)
 * and `dataplane.<peer>` the data plane (CONNECT with the bearer token), HTTP/1.1 only.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import {
  Cleanup,
  connectTo,
  importAddress,
  importOf,
  makePki,
  snapshotFor,
  startDataPlane,
  startEcho,
  type Pki,
} from './harness';

let pki: Pki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await makePki(['east', 'west']);
});
afterEach(() => cleanup.run());

async function startUpstreamLikeGateway(servicePort: number) {
  const seen: { sni: string | false | null; what: string; body?: string }[] = [];
  const token = 'opaque-upstream-token';
  const api = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sni = (req.socket as tls.TLSSocket).servername;
      seen.push({ sni, what: `${req.method} ${req.url}`, body: Buffer.concat(chunks).toString() });
      if (sni === 'west' && req.method === 'POST' && req.url === '/authz') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ AccessToken: token }));
      } else {
        res.writeHead(404).end();
      }
    });
  });
  api.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    const sni = (socket as tls.TLSSocket).servername;
    seen.push({ sni, what: `CONNECT ${req.headers.authorization}` });
    if (sni !== 'dataplane.west' || req.headers.authorization !== `Bearer ${token}`) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = net.connect(servicePort, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n');
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  const server = tls.createServer(
    {
      ca: pki.ca.cert,
      cert: pki.certs.west.cert,
      key: pki.certs.west.key,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['http/1.1'],
    },
    (socket) => api.emit('connection', socket),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        api.closeAllConnections();
      }),
  );
  return { port: (server.address() as AddressInfo).port, seen };
}

it('opens a tunnel through an upstream-style gateway: /authz on SNI <peer>, CONNECT on SNI dataplane.<peer>', async () => {
  const echo = await startEcho(cleanup);
  const upstream = await startUpstreamLikeGateway(echo.port);
  const east = await startDataPlane(cleanup);
  await east.applySnapshot(
    snapshotFor(pki, {
      name: 'east',
      labels: { env: 'test' },
      peers: [
        { name: 'west', gateways: [{ host: '127.0.0.1', port: upstream.port }], reachable: true, labels: {} },
      ],
      imports: [importOf('svc', [{ peer: 'west' }])],
    }),
  );
  // Upstream's forwarder closes both ways at the first end of stream: wait for the echo, then close.
  const client = await connectTo(importAddress(east, 'svc'));
  client.write('through upstream');
  const [echoed] = (await once(client, 'data')) as [Buffer];
  expect(echoed.toString()).toBe('through upstream');
  client.destroy();
  expect(upstream.seen.map((s) => [s.sni, s.what])).toEqual([
    ['west', 'POST /authz'],
    ['dataplane.west', 'CONNECT Bearer opaque-upstream-token'],
  ]);
  expect(JSON.parse(upstream.seen[0].body!)).toEqual({
    ServiceName: 'svc',
    ServiceNamespace: 'default',
    SrcAttributes: { 'peer.clusterlink.net/name': 'east', 'peer.clusterlink.net/labels.env': 'test' },
  });
});
