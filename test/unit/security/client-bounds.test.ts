/**
 * Our HTTP/1.1 client facing a hostile remote gateway (a fabric peer can be compromised): responses
 * that never end or grow without bound are refused early, with bounded memory.
 */
import * as tls from 'node:tls';
import { once } from 'node:events';
import { requestToken } from '../../../dataplane/client/http1-client';
import { Cleanup, makePki, type Pki } from '../dataplane/harness';

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
