/**
 * The snapshot channel (port 9444) hands this site's private key and token key to its data plane,
 * so it must serve nobody else, and its request handling must stay bounded.
 */
import * as tls from 'node:tls';
import * as net from 'node:net';
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';
import type { GatewaySnapshot } from '../../../kernel/api/snapshot';
import { SnapshotServer } from '../../../controller/snapshot/server';
import { eventually } from '../dataplane/harness';

jest.setTimeout(15_000);

type Tls = { ca: string; cert: string; key: string };
let own: Tls;
let otherPeer: Tls;
let otherFabric: Tls;
let snapshot: GatewaySnapshot;

beforeAll(async () => {
  const ca = await createCertificateAuthority({ commonName: 'fabric' });
  own = { ca: ca.cert, ...(await createPeerCertificate(ca, 'east')) };
  otherPeer = { ca: ca.cert, ...(await createPeerCertificate(ca, 'west')) };
  const other = await createCertificateAuthority({ commonName: 'fabric' });
  otherFabric = { ca: ca.cert, ...(await createPeerCertificate(other, 'east')) };
  snapshot = {
    schema: 1,
    version: 7,
    localPeer: { name: 'east', labels: {} },
    tls: own,
    tokenKey: Buffer.alloc(32, 1).toString('base64'),
    peers: [],
    exports: [],
    imports: [],
    policies: [],
    clients: [],
  };
});

let server: SnapshotServer;
beforeEach(async () => {
  server = new SnapshotServer({
    source: { subscribe: (l) => (l(snapshot), () => undefined) },
    tls: own,
    peerName: 'east',
    host: '127.0.0.1',
    port: 0,
    longPollMs: 5000,
  });
  await server.start();
});
afterEach(() => server.close());

const open = (identity: Tls): Promise<{ socket: tls.TLSSocket; answer: Promise<string> }> =>
  new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.address.port,
      ca: own.ca,
      cert: identity.cert,
      key: identity.key,
      servername: 'east',
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    const answer = new Promise<string>((r) =>
      socket.once('close', () => r(Buffer.concat(chunks).toString())),
    );
    socket.once('secureConnect', () => resolve({ socket, answer }));
    socket.once('error', () => resolve({ socket, answer }));
  });

async function request(identity: Tls, head: string | Buffer): Promise<string> {
  const { socket, answer } = await open(identity);
  socket.end(head);
  return answer;
}

const sockets = () => (server as unknown as { sockets: Set<unknown> }).sockets.size;

describe('snapshot channel', () => {
  it('serves this site only: another peer of the fabric gets 403 without any key material; another CA no answer', async () => {
    const get = 'GET /v1/snapshot?after=0 HTTP/1.1\r\nHost: east\r\nConnection: close\r\n\r\n';
    const mine = await request(own, get);
    expect(mine).toMatch(/^HTTP\/1\.1 200/);
    expect(mine).toContain(snapshot.tokenKey);
    const theirs = await request(otherPeer, get);
    expect(theirs).toMatch(/^HTTP\/1\.1 403/);
    const foreign = await request(otherFabric, get);
    expect(foreign).toBe('');
    for (const answer of [theirs, foreign]) {
      expect(answer).not.toContain('PRIVATE KEY');
      expect(answer).not.toContain(snapshot.tokenKey);
    }
    await eventually(() => sockets() === 0);
  });

  it('another peer cannot reach the long poll either (no waiter is registered for it)', async () => {
    const { socket, answer } = await open(otherPeer);
    socket.write('GET /v1/snapshot?after=7 HTTP/1.1\r\nHost: east\r\n\r\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(server.waiting).toBe(0);
    socket.end();
    expect(await answer).toMatch(/^HTTP\/1\.1 403/);
  });

  it('oversized heads, bodies and other paths are refused; long polls of closed connections are forgotten', async () => {
    const huge = await request(
      own,
      `GET /v1/snapshot?after=${'9'.repeat(20_000)} HTTP/1.1\r\nHost: east\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 431/);
    const post = await request(
      own,
      Buffer.concat([
        Buffer.from('POST /v1/snapshot HTTP/1.1\r\nHost: east\r\nContent-Length: 1000000\r\n\r\n'),
        Buffer.alloc(100_000, 'a'),
      ]),
    );
    expect(post).toMatch(/^HTTP\/1\.1 404/);
    // Long polls (version already known) held, then their clients vanish.
    const polls = await Promise.all(Array.from({ length: 30 }, () => open(own)));
    for (const p of polls) p.socket.write('GET /v1/snapshot?after=7 HTTP/1.1\r\nHost: east\r\n\r\n');
    await eventually(() => server.waiting === 30);
    for (const p of polls) p.socket.destroy();
    await eventually(() => server.waiting === 0 && sockets() === 0);
  });

  it('a connection stuck before its TLS handshake is tracked and ended by close()', async () => {
    // (Node's https handshake timeout, 120 s by default, ends it otherwise.)
    const raw = net.connect((server.address as { port: number }).port, '127.0.0.1');
    raw.on('error', () => undefined);
    await new Promise((r) => raw.once('connect', r));
    await eventually(() => sockets() === 1);
    await server.close();
    await eventually(() => raw.destroyed || raw.readableEnded);
    raw.destroy();
  });
});
