/**
 * Certificates replaced by ones of another fabric, then restored, without restarting anything:
 * tunnels established before continue, but connections authenticated under the old material serve
 * no new work (new tunnels and heartbeats handshake again and are refused), and everything works
 * again once the original certificates are back.
 */
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';
import type { GatewaySnapshot } from '../../../kernel/api/snapshot';
import { HttpsProber, type ProbeResult } from '../../../controller/health';
import type { DataPlane } from '../../../dataplane';
import {
  Cleanup,
  collect,
  connectTo,
  eventually,
  exchange,
  exportOf,
  importAddress,
  importOf,
  makePki,
  peer,
  snapshotFor,
  startDataPlane,
  startEcho,
  type Pki,
} from './harness';

let pki: Pki;
/** The same peer names, issued by a CA of another fabric. */
let otherFabric: Pki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await makePki(['east', 'west']);
  const ca = await createCertificateAuthority({ commonName: 'other-fabric' });
  otherFabric = { ca, certs: { west: await createPeerCertificate(ca, 'west') } };
});
afterEach(() => cleanup.run());

/** Writes `text` on an established tunnel and waits for the echo service to send it back. */
async function roundTrip(socket: Socket, text: string): Promise<void> {
  let received = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      received += chunk.toString();
      if (received.includes(text)) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve();
      }
    };
    const onClose = (): void => reject(new Error(`tunnel closed before "${text}" came back`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(text);
  });
}

function probeWest(prober: HttpsProber, west: DataPlane): Promise<ProbeResult> {
  return prober.probe(
    'west',
    { host: '127.0.0.1', port: west.gatewayAddress.port },
    new AbortController().signal,
  );
}

describe.each([
  ['h2', false],
  ['http/1.1', true],
] as const)('certificate swap with tunnels over %s', (_protocol, forceHttp1) => {
  it('keeps established tunnels, refuses new work under another fabric, recovers when restored', async () => {
    const echo = await startEcho(cleanup);
    const west = await startDataPlane(cleanup);
    const east = await startDataPlane(cleanup, { forceHttp1 });
    const westSnapshot = (fabric: Pki): GatewaySnapshot =>
      snapshotFor(fabric, { name: 'west', exports: [exportOf('svc', echo.port)] });
    await west.applySnapshot(westSnapshot(pki));
    await east.applySnapshot(
      snapshotFor(pki, {
        name: 'east',
        peers: [peer('west', west)],
        imports: [importOf('svc', [{ peer: 'west' }])],
      }),
    );
    // East's heartbeats to west: a kept-alive HTTP/1.1 connection, like the control plane's.
    const prober = new HttpsProber({
      tls: { ca: pki.ca.cert, cert: pki.certs.east.cert, key: pki.certs.east.key },
      timeoutMs: 2000,
    });
    cleanup.add(() => prober.close());
    expect((await probeWest(prober, west)).ok).toBe(true);

    const established = await connectTo(importAddress(east, 'svc'));
    established.on('error', () => undefined);
    cleanup.add(() => established.destroy());
    await roundTrip(established, 'before the swap;');
    expect(west.activeTunnels.ingress).toBe(1);

    // West now holds certificates of another fabric (same peer name).
    await west.applySnapshot(westSnapshot(otherFabric));

    await roundTrip(established, 'during the swap;');
    const refused = await exchange(importAddress(east, 'svc'), Buffer.from('new tunnel'));
    expect(refused.data.length).toBe(0);
    expect(echo.accepted).toBe(1);
    const heartbeat = await probeWest(prober, west);
    expect(heartbeat.ok).toBe(false);
    expect(heartbeat.ok === false && heartbeat.reason).toBe('TLSFailure');

    // Restored: new tunnels and heartbeats work again; nothing was restarted.
    await west.applySnapshot(westSnapshot(pki));

    expect((await probeWest(prober, west)).ok).toBe(true);
    const fresh = await exchange(importAddress(east, 'svc'), Buffer.from('after the restore'));
    expect(fresh.data.toString()).toBe('after the restore');
    await roundTrip(established, 'still the first tunnel;');
    const ended = collect(established);
    established.end();
    expect((await ended).end).toBe('fin');
    await eventually(() => west.activeTunnels.ingress === 0);
  });
});

it('closes pooled sessions to remote gateways when its own certificates change', async () => {
  const echo = await startEcho(cleanup);
  const west = await startDataPlane(cleanup);
  const east = await startDataPlane(cleanup);
  await west.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', echo.port)] }));
  const eastSnapshot = (version?: number) =>
    snapshotFor(pki, {
      name: 'east',
      version,
      peers: [peer('west', west)],
      imports: [importOf('svc', [{ peer: 'west' }])],
    });
  await east.applySnapshot(eastSnapshot());
  const first = await exchange(importAddress(east, 'svc'), Buffer.from('pooled'));
  expect(first.data.toString()).toBe('pooled');
  expect(east.pooledSessions).toBe(1);

  // A renewed certificate for east (same CA): the session opened under the old one is let go.
  const renewed = await createPeerCertificate(pki.ca, 'east');
  await east.applySnapshot(
    snapshotFor(pki, {
      name: 'east',
      tls: renewed,
      peers: [peer('west', west)],
      imports: [importOf('svc', [{ peer: 'west' }])],
    }),
  );
  expect(east.pooledSessions).toBe(0);
  const second = await exchange(importAddress(east, 'svc'), Buffer.from('new session'));
  expect(second.data.toString()).toBe('new session');
  expect(east.pooledSessions).toBe(1);
});

it('closes a connection whose handshake began before a certificate change, unused', async () => {
  const west = await startDataPlane(cleanup);
  await west.applySnapshot(snapshotFor(pki, { name: 'west' }));
  // TCP accepted under the first certificates; the TLS handshake happens after the change.
  const tcp = await connectTo(west.gatewayAddress);
  cleanup.add(() => tcp.destroy());
  const renewed = await createPeerCertificate(pki.ca, 'west');
  await west.applySnapshot(snapshotFor(pki, { name: 'west', tls: renewed }));
  await eventually(() => west.snapshotVersion !== undefined);

  /** GET /healthz over TLS on `tcp` (or a new connection): the status line, or how it ended. */
  const healthz = async (tcp?: Socket): Promise<string> => {
    const socket = tls.connect({
      ...(tcp ? { socket: tcp } : { host: '127.0.0.1', port: west.gatewayAddress.port }),
      ca: pki.ca.cert,
      cert: pki.certs.east.cert,
      key: pki.certs.east.key,
      servername: 'west',
      ALPNProtocols: ['http/1.1'],
    });
    const outcome = collect(socket as unknown as Socket);
    socket.end('GET /healthz HTTP/1.1\r\nhost: west\r\nconnection: close\r\n\r\n');
    const { data } = await outcome;
    return data.toString().split('\r\n')[0] || 'closed without an answer';
  };
  expect(await healthz(tcp)).toBe('closed without an answer');
  expect(await healthz()).toBe('HTTP/1.1 200 OK');
});
