/**
 * The client's first bytes travel with the tunnel request (h2 fast path): the remote has them
 * before it answers, so the first round trip saves a gateway-to-gateway round trip. Failover still
 * delivers every byte, once, to the source that accepts.
 */
import { once } from 'node:events';
import * as http2 from 'node:http2';
import { randomBytes } from 'node:crypto';
import type { ServerHttp2Stream } from 'node:http2';
import {
  ALLOW_ALL,
  collect,
  connectTo,
  denyFrom,
  exchange,
  exportOf,
  importAddress,
  importOf,
  peer,
  snapshotFor,
  startDataPlane,
  startServer,
  perFile,
} from './harness';
import { EARLY_BYTES_LIMIT } from '../../../dataplane/tuning';

const fixture = perFile(['east', 'west', 'north']);
const { cleanup } = fixture;

/**
 * A remote gateway (west's certificate, h2 over mutual TLS) that answers a CONNECT only once it has
 * received request DATA, and then echoes with a prefix. A client that held its bytes back until the
 * answer would never be answered.
 */
async function gatewayAnsweringAfterData(): Promise<{ port: number; firstData: Buffer[] }> {
  const firstData: Buffer[] = [];
  const server = http2.createSecureServer({
    ca: fixture.pki.ca.cert,
    cert: fixture.pki.certs.west.cert,
    key: fixture.pki.certs.west.key,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const streams = new Set<ServerHttp2Stream>();
  server.on('stream', (stream) => {
    streams.add(stream);
    stream.on('error', () => undefined);
    stream.once('data', (chunk: Buffer) => {
      firstData.push(chunk);
      stream.respond({ ':status': 200 });
      stream.write('west:');
      stream.write(chunk);
      stream.pipe(stream);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as { port: number }).port, firstData };
}

it('sends the client bytes on the h2 tunnel request, before the remote answers', async () => {
  const remote = await gatewayAnsweringAfterData();
  const east = await startDataPlane(cleanup);
  await east.applySnapshot(
    snapshotFor(fixture.pki, {
      name: 'east',
      peers: [
        { name: 'west', gateways: [{ host: '127.0.0.1', port: remote.port }], reachable: true, labels: {} },
      ],
      imports: [importOf('svc', [{ peer: 'west' }])],
    }),
  );
  const outcome = await exchange(importAddress(east, 'svc'), Buffer.from('PING\r\n'));
  expect(outcome.end).toBe('fin');
  expect(outcome.data.toString()).toBe('west:PING\r\n');
  expect(Buffer.concat(remote.firstData).toString()).toBe('PING\r\n');
  // Counted as bytes of the tunnel like any other.
  const bytes = (await east.metrics.bytes.get()).values;
  expect(bytes.find((v) => v.labels.flow === 'in')?.value).toBe(6);
});

it('a first message larger than the read-ahead limit reaches, whole and once, the source that accepts after another refused', async () => {
  const received = { west: 0, north: 0 };
  const countingEcho = (name: 'west' | 'north') =>
    startServer(cleanup, (socket) => {
      socket.on('data', (c: Buffer) => (received[name] += c.length));
      socket.pipe(socket);
    });
  const westService = await countingEcho('west');
  const northService = await countingEcho('north');
  const west = await startDataPlane(cleanup);
  const north = await startDataPlane(cleanup);
  const east = await startDataPlane(cleanup);
  await west.applySnapshot(
    snapshotFor(fixture.pki, {
      name: 'west',
      exports: [exportOf('svc', westService.port)],
      policies: [ALLOW_ALL, denyFrom('east')],
    }),
  );
  await north.applySnapshot(
    snapshotFor(fixture.pki, { name: 'north', exports: [exportOf('svc', northService.port)] }),
  );
  await east.applySnapshot(
    snapshotFor(fixture.pki, {
      name: 'east',
      peers: [peer('west', west), peer('north', north)],
      imports: [importOf('svc', [{ peer: 'west' }, { peer: 'north' }], { lbScheme: 'static' })],
    }),
  );
  const payload = randomBytes(EARLY_BYTES_LIMIT * 16 + 123);
  const client = await connectTo(importAddress(east, 'svc'));
  const result = collect(client);
  client.end(payload); // all of it sent before any tunnel exists, then FIN
  const outcome = await result;
  expect(outcome.end).toBe('fin');
  expect(outcome.data.equals(payload)).toBe(true);
  expect(received).toEqual({ west: 0, north: payload.length });
  expect(westService.accepted).toBe(0);
});
