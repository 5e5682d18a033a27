/**
 * After a run of refusals of every kind, the process holds exactly the handles it held before
 * (sockets, servers, timers): no refusal path leaks a socket.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';
import { Cleanup, eventually, tlsTo, type Pki } from '../dataplane/harness';
import { expectBackToBaseline, expectStillServing, fabric, fastHeaders, held, startWest } from './fixtures';
import { ERR, RawH2, rstStream } from './raw-h2';

jest.setTimeout(20_000);

let pki: Pki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await fabric();
});
afterEach(() => cleanup.run());

const handles = (): number =>
  (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;

/** Sends `bytes` on a connection as north and waits until the gateway closes it. */
async function hit(port: number, bytes: string | Buffer, alpn = ['http/1.1']): Promise<void> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    ca: pki.ca.cert,
    cert: pki.certs.north.cert,
    key: pki.certs.north.key,
    servername: 'west',
    ALPNProtocols: alpn,
  });
  socket.on('error', () => undefined);
  socket.resume();
  await new Promise<void>((resolve) => {
    socket.once('secureConnect', () => socket.write(bytes));
    socket.once('close', () => resolve());
  });
}

it('refusals of every kind leave no handle behind', async () => {
  const site = await startWest(cleanup, pki, { limits: { bodyTimeoutMs: 200, keepAliveTimeoutMs: 300 } });
  const { port } = site.dp.gatewayAddress;
  const foreignCa = await createCertificateAuthority({ commonName: 'fabric' });
  const foreign = await createPeerCertificate(foreignCa, 'north');
  await new Promise((r) => setTimeout(r, 50));
  const before = handles();

  for (let round = 0; round < 3; round++) {
    // Plain-text garbage and a stalled TCP connection (no TLS).
    const plain = net.connect(port, '127.0.0.1');
    plain.on('error', () => undefined);
    plain.resume();
    plain.write('GET / HTTP/1.1\r\n\r\n');
    const stalled = net.connect(port, '127.0.0.1');
    stalled.on('error', () => undefined);
    // A certificate from another CA.
    const bad = tls.connect({ host: '127.0.0.1', port, ca: pki.ca.cert, ...foreign, servername: 'west' });
    bad.on('error', () => undefined);
    bad.resume();
    bad.once('secureConnect', () => bad.write('GET /healthz HTTP/1.1\r\n\r\n'));
    // HTTP/1.1 refusals.
    await hit(port, 'CONNECT west:443 HTTP/1.1\r\nHost: west\r\nAuthorization: Bearer v1.x.y\r\n\r\n');
    await hit(port, 'CONNECT west:443 HTTP/1.1\r\nHost: west\r\n\r\n');
    await hit(port, `GET /healthz HTTP/1.1\r\nX: ${'a'.repeat(40_000)}\r\n\r\n`);
    await hit(port, 'POST /authz HTTP/1.1\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n');
    await hit(port, 'POST /authz HTTP/1.1\r\nContent-Length: 100\r\n\r\n{'); // body timeout
    await hit(port, `POST /authz HTTP/1.1\r\nContent-Length: 100000\r\n\r\n${'a'.repeat(100_000)}`);
    await hit(port, 'GET /healthz HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    await hit(
      port,
      'GET /healthz HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
    );
    await hit(port, randomBytes(2000));
    await hit(port, randomBytes(2000), ['h2']);
    // h2: a burst of reset streams, and a session left idle (closed by the gateway's idle timeout).
    const socket = await tlsTo(site.dp, pki.certs.north, {
      ca: pki.ca.cert,
      servername: 'west',
      alpn: ['h2'],
    });
    const raw = new RawH2(socket);
    for (let i = 0; i < 50; i++)
      raw.write(rstStream(raw.request(Object.entries(fastHeaders('svc', 'north')), false), ERR.CANCEL));
    socket.once('end', () => socket.end());
    await raw.waitClosed();
    await new Promise<void>((r) => (stalled.destroyed ? r() : stalled.once('close', () => r())));
    plain.destroy();
    bad.destroy();
  }
  await expectBackToBaseline(site);
  await eventually(() => handles() <= before, 5000).catch(() => {
    throw new Error(`handles ${handles()} > ${before} before`);
  });
  await expectStillServing(site, cleanup);
});

it('a flood of connections beyond maxGatewayConnections is closed on accept; the gateway serves once it ebbs', async () => {
  const site = await startWest(cleanup, pki, {
    limits: { maxGatewayConnections: 20, handshakeTimeoutMs: 400 },
  });
  const { port } = site.dp.gatewayAddress;
  const flood: net.Socket[] = [];
  const closedEarly: Promise<boolean>[] = [];
  for (let i = 0; i < 60; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    flood.push(s);
    const opened = Date.now();
    closedEarly.push(new Promise((resolve) => s.once('close', () => resolve(Date.now() - opened < 300))));
  }
  await eventually(
    () => flood.every((s) => s.destroyed || s.readableEnded) || held(site.dp).raw === 20,
    3000,
  );
  expect(held(site.dp).raw).toBeLessThanOrEqual(20);
  // The ones over the limit were closed at once; the others at the handshake timeout.
  for (const s of flood) s.resume();
  const early = (await Promise.all(closedEarly)).filter(Boolean).length;
  expect(early).toBeGreaterThanOrEqual(40);
  await expectBackToBaseline(site);
  await expectStillServing(site, cleanup);
});
