/**
 * Our HTTP/1.1 client facing a hostile remote gateway (a fabric peer can be compromised): responses
 * that never end or grow without bound are refused early, with bounded memory.
 */
import * as tls from 'node:tls';
import * as http2 from 'node:http2';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { requestToken } from '../../../dataplane/client/http1-client';
import {
  Cleanup,
  collect,
  connectTo,
  importAddress,
  importOf,
  makePki,
  snapshotFor,
  startDataPlane,
  type Pki,
} from '../dataplane/harness';

jest.setTimeout(15_000);

let pki: Pki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await makePki(['east', 'west']);
});
afterEach(() => cleanup.run());

/** A TLS server with west's certificate that answers every connection with `respond`. */
async function hostileGateway(respond: (socket: tls.TLSSocket) => void): Promise<number> {
  const server = tls.createServer({
    ca: pki.ca.cert,
    cert: pki.certs.west.cert,
    key: pki.certs.west.key,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const sockets = new Set<tls.TLSSocket>();
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', () => respond(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.add(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return (server.address() as { port: number }).port;
}

async function askToken(port: number) {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    ca: pki.ca.cert,
    cert: pki.certs.east.cert,
    key: pki.certs.east.key,
    servername: 'west',
  });
  socket.on('error', () => undefined);
  cleanup.add(() => socket.destroy());
  await once(socket, 'secureConnect');
  return requestToken(socket, 'west', { name: 'svc', namespace: 'default' }, {}, 8000);
}

/** Writes `chunk` repeatedly (as fast as the client reads) until the connection ends. */
function flood(socket: tls.TLSSocket, chunk: Buffer): void {
  const pump = (): void => {
    while (!socket.destroyed && socket.writable && socket.write(chunk));
    if (!socket.destroyed && socket.writable) socket.once('drain', pump);
  };
  pump();
}

describe('our HTTP/1.1 client against a hostile gateway', () => {
  it('a chunked response whose trailer never ends is refused as too large, not read for ever', async () => {
    const port = await hostileGateway((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n');
      flood(socket, Buffer.from('x-trailer: y\r\n'.repeat(1000)));
    });
    await expect(askToken(port)).rejects.toMatchObject({
      code: 'CL_ERR_PROTOCOL',
      message: expect.stringMatching(/too large/),
    });
  });

  it('a chunked response with endless small chunks is refused as too large', async () => {
    const port = await hostileGateway((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      flood(socket, Buffer.from('1\r\na\r\n'.repeat(1000)));
    });
    await expect(askToken(port)).rejects.toMatchObject({ code: 'CL_ERR_PROTOCOL' });
  });

  it('a response head that never ends is refused as too large', async () => {
    const port = await hostileGateway((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      flood(socket, Buffer.from('x-h: v\r\n'.repeat(1000)));
    });
    await expect(askToken(port)).rejects.toMatchObject({
      code: 'CL_ERR_PROTOCOL',
      message: expect.stringMatching(/too large/),
    });
  });
});

describe('refusal codes a remote gateway sends back', () => {
  it('an unknown code is ignored: the status decides (403 = policy denied, final), no new metric label (h2 and HTTP/1.1)', async () => {
    const h2Server = http2.createSecureServer({
      ca: pki.ca.cert,
      cert: pki.certs.west.cert,
      key: pki.certs.west.key,
      requestCert: true,
      rejectUnauthorized: true,
      allowHTTP1: true,
    });
    let n = 0;
    const answer = (): Record<string, string | number> => ({
      ':status': 403,
      'x-cl-error-code': `CL_ERR_MADE_UP_${n++}`,
    });
    h2Server.on('stream', (stream) => {
      stream.on('error', () => undefined);
      stream.respond(answer(), { endStream: true });
    });
    h2Server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      if (req.httpVersion === '2.0') return;
      const { 'x-cl-error-code': code } = answer();
      res.writeHead(403, { 'x-cl-error-code': String(code), 'content-length': 0 });
      res.end();
    });
    h2Server.listen(0, '127.0.0.1');
    await once(h2Server, 'listening');
    cleanup.add(() => new Promise((r) => h2Server.close(r)));
    const port = (h2Server.address() as { port: number }).port;

    for (const forceHttp1 of [false, true]) {
      const registry = new Registry();
      const east = await startDataPlane(cleanup, { metricsRegistry: registry, forceHttp1 });
      await east.applySnapshot(
        snapshotFor(pki, {
          name: 'east',
          peers: [{ name: 'west', gateways: [{ host: '127.0.0.1', port }], reachable: true, labels: {} }],
          imports: [importOf('svc', [{ peer: 'west' }])],
        }),
      );
      for (let i = 0; i < 10; i++) {
        const client = await connectTo(importAddress(east, 'svc'));
        const outcome = collect(client);
        client.end('x');
        expect((await outcome).end).toBe('error'); // reset: the only source refused
      }
      const metrics = await registry.getMetricsAsJSON();
      const errors = metrics.find((m) => m.name === 'clusterlink_dataplane_errors_total');
      const codes = new Set((errors?.values ?? []).map((v) => String(v.labels.code)));
      expect([...codes].filter((c) => c.startsWith('CL_ERR_MADE_UP'))).toEqual([]);
      expect(codes.has('CL_ERR_POLICY_DENIED')).toBe(true);
      await east.close(0);
    }
    expect(n).toBeGreaterThanOrEqual(20);
  });
});
