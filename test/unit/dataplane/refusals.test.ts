/**
 * Every refusal on the gateway port ends with the intended status (or a closed handshake), and the
 * gateway keeps serving others. Drives our own HTTP/1.1 client (the upstream-compatible protocol)
 * and raw h2 requests against a gateway.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { PEER_LABELS_HEADER } from '../../../kernel/api/labels';
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';
import { DataPlane } from '../../../dataplane';
import {
  connectWithToken,
  healthz,
  readResponse,
  requestToken,
} from '../../../dataplane/client/http1-client';
import { DataPlaneErrorCode } from '../../../dataplane/errors';
import {
  encodeAttributesHeader,
  EXPORT_NAME_HEADER,
  EXPORT_NAMESPACE_HEADER,
  SOURCE_ATTRIBUTES_HEADER,
  ERROR_CODE_HEADER,
} from '../../../dataplane/protocol';
import { issueToken } from '../../../dataplane/token';
import {
  ALLOW_ALL,
  Cleanup,
  collect,
  exportOf,
  h2Request,
  h2To,
  makePki,
  sha256,
  snapshotFor,
  startDataPlane,
  startEcho,
  tlsTo,
  TOKEN_KEY,
  type Backend,
  type Pki,
} from './harness';

let pki: Pki;
const cleanup = new Cleanup();
let west: DataPlane;
let echo: Backend;

beforeAll(async () => {
  pki = await makePki(['east', 'west', 'north']);
});
afterEach(() => cleanup.run());

const DENY_EAST = {
  name: 'deny-east',
  spec: {
    action: 'deny' as const,
    from: [{ workloadSelector: { matchLabels: { 'peer.clusterlink.net/name': 'east' } } }],
    to: [{ workloadSelector: {} }],
  },
};

async function startWest(extra: Parameters<typeof snapshotFor>[1] extends infer S ? Partial<S> : never = {}) {
  echo = await startEcho(cleanup);
  west = await startDataPlane(cleanup, { limits: { handshakeTimeoutMs: 300, headersTimeoutMs: 300 } });
  await west.applySnapshot(
    snapshotFor(pki, {
      name: 'west',
      labels: { region: 'eu' },
      exports: [exportOf('svc', echo.port)],
      ...extra,
    }),
  );
}

const asEast = () => tlsTo(west, pki.certs.east, { ca: pki.ca.cert, servername: 'west' });
const asNorth = () => tlsTo(west, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
const svc = { name: 'svc', namespace: 'default' };
const eastAttrs = { 'peer.clusterlink.net/name': 'east' };

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

/** The gateway still completes a full tunnel for a legitimate peer; returns the token it spent. */
async function expectStillServing(): Promise<string> {
  const socket = await asEast();
  const { token } = await requestToken(socket, 'west', svc, eastAttrs, 2000);
  await connectWithToken(socket, 'west', token, 2000);
  const payload = randomBytes(100_000);
  const result = collect(socket as unknown as net.Socket);
  socket.end(payload);
  expect(sha256((await result).data)).toBe(sha256(payload));
  return token;
}

describe('compatible HTTP/1.1 protocol, our client against our server', () => {
  it('GET /healthz answers 200 with the peer labels header', async () => {
    await startWest();
    const socket = await asEast();
    cleanup.add(() => socket.destroy());
    expect(await healthz(socket, 'west', 2000)).toEqual({ region: 'eu' });
    // Same connection, raw: the header name as upstream spells it.
    socket.write('GET /healthz HTTP/1.1\r\nHost: west\r\n\r\n');
    const raw = await readResponse(socket, 2000, false);
    expect(
      JSON.parse(Buffer.from(raw.headers[PEER_LABELS_HEADER.toLowerCase()], 'base64').toString()),
    ).toEqual({ region: 'eu' });
  });

  it('POST /authz then CONNECT on the same connection opens the tunnel', async () => {
    await startWest();
    await expectStillServing();
  });

  it('unknown export: 404', async () => {
    await startWest();
    const socket = await asEast();
    cleanup.add(() => socket.destroy());
    expect(
      await codeOf(requestToken(socket, 'west', { name: 'nope', namespace: 'default' }, eastAttrs, 2000)),
    ).toBe(DataPlaneErrorCode.noSuchExport);
    await expectStillServing();
  });

  it('ingress policy deny: 403', async () => {
    await startWest({ policies: [ALLOW_ALL, DENY_EAST] });
    const socket = await asEast();
    cleanup.add(() => socket.destroy());
    socket.write(
      `POST /authz HTTP/1.1\r\nHost: west\r\nContent-Length: ${JSON.stringify({ ServiceName: 'svc', ServiceNamespace: 'default', SrcAttributes: eastAttrs }).length}\r\n\r\n` +
        JSON.stringify({ ServiceName: 'svc', ServiceNamespace: 'default', SrcAttributes: eastAttrs }),
    );
    const response = await readResponse(socket, 2000, false);
    expect(response.status).toBe(403);
    expect(response.headers[ERROR_CODE_HEADER]).toBe(DataPlaneErrorCode.policyDenied);
    // north is not denied
    const other = await asNorth();
    cleanup.add(() => other.destroy());
    await requestToken(other, 'west', svc, { 'peer.clusterlink.net/name': 'north' }, 2000);
  });

  it('claimed peer name differs from the certificate: 403 identity mismatch', async () => {
    await startWest();
    const socket = await asEast();
    cleanup.add(() => socket.destroy());
    expect(
      await codeOf(requestToken(socket, 'west', svc, { 'peer.clusterlink.net/name': 'north' }, 2000)),
    ).toBe(DataPlaneErrorCode.identityMismatch);
    await expectStillServing();
  });

  it('malformed body: 400; other requests: 400', async () => {
    await startWest();
    for (const request of [
      'POST /authz HTTP/1.1\r\nHost: west\r\nContent-Length: 7\r\n\r\nnotjson',
      'POST /authz HTTP/1.1\r\nHost: west\r\nContent-Length: 17\r\n\r\n{"ServiceName":1}',
      'GET / HTTP/1.1\r\nHost: west\r\n\r\n',
      'PUT /authz HTTP/1.1\r\nHost: west\r\nContent-Length: 0\r\n\r\n',
    ]) {
      const socket = await asEast();
      cleanup.add(() => socket.destroy());
      socket.write(request);
      expect((await readResponse(socket, 2000, false)).status).toBe(400);
    }
    await expectStillServing();
  });

  it('CONNECT without a token: 400; expired, forged or another peer’s token: 401', async () => {
    await startWest();
    const tryConnect = async (socket: tls.TLSSocket, authorization?: string) => {
      cleanup.add(() => socket.destroy());
      socket.write(
        `CONNECT west:443 HTTP/1.1\r\nHost: west:443\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}\r\n`,
      );
      return (await readResponse(socket, 2000, true)).status;
    };
    expect(await tryConnect(await asEast())).toBe(400);
    expect(await tryConnect(await asEast(), 'Basic abc')).toBe(400);
    const claims = { exportName: 'svc', exportNamespace: 'default', peer: 'east' };
    const expired = issueToken(Buffer.from(TOKEN_KEY, 'base64'), claims, Date.now() - 6000).token;
    expect(await tryConnect(await asEast(), `Bearer ${expired}`)).toBe(401);
    const forged = issueToken(randomBytes(32), claims).token;
    expect(await tryConnect(await asEast(), `Bearer ${forged}`)).toBe(401);
    // A token west issued to east, replayed by north.
    const eastSocket = await asEast();
    cleanup.add(() => eastSocket.destroy());
    const { token } = await requestToken(eastSocket, 'west', svc, eastAttrs, 2000);
    expect(await tryConnect(await asNorth(), `Bearer ${token}`)).toBe(401);
    // ... while east itself can still use it.
    await connectWithToken(eastSocket, 'west', token, 2000);
    await expectStillServing();
  });

  it('a token opens one tunnel: the same peer presenting it again gets 401, the gateway keeps serving', async () => {
    await startWest();
    const token = await expectStillServing(); // bytes crossed its tunnel
    const again = await asEast();
    cleanup.add(() => again.destroy());
    again.write(`CONNECT west:443 HTTP/1.1\r\nHost: west:443\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    const refused = await readResponse(again, 2000, true);
    expect([refused.status, refused.headers[ERROR_CODE_HEADER]]).toEqual([401, DataPlaneErrorCode.badToken]);
    expect(refused.body.toString()).toContain('token already used');
    expect(echo.accepted).toBe(1);
    await expectStillServing();
  });

  it('garbage bytes after the handshake: 400', async () => {
    await startWest();
    const socket = await asEast();
    cleanup.add(() => socket.destroy());
    socket.write(randomBytes(512));
    socket.write('\r\n\r\n');
    expect((await readResponse(socket, 2000, false)).status).toBe(400);
    await expectStillServing();
  });

  it('oversized request head: 431', async () => {
    await startWest();
    const socket = await asEast();
    cleanup.add(() => socket.destroy());
    socket.write(`GET /healthz HTTP/1.1\r\nHost: west\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`);
    expect((await readResponse(socket, 2000, false)).status).toBe(431);
    await expectStillServing();
  });

  it('a kept-alive connection whose next request head trickles in is closed', async () => {
    await startWest();
    const socket = await asEast();
    socket.on('error', () => undefined);
    expect(await healthz(socket, 'west', 2000)).toEqual({ region: 'eu' });
    const ended = once(socket, 'end');
    const trickle = setInterval(() => socket.write('X'), 50); // never a complete head
    cleanup.add(() => clearInterval(trickle));
    socket.write('GET /healthz HTTP/1.1\r\nX-Slow: ');
    socket.resume();
    await ended;
    clearInterval(trickle);
    await expectStillServing();
  });

  it('a request head that does not arrive in time: connection closed', async () => {
    await startWest();
    const socket = await asEast();
    socket.on('error', () => undefined);
    socket.write('GET /healthz HTTP/1.1\r\n'); // and never the rest
    await once(socket, 'end'); // the gateway closed it
    await expectStillServing();
  });
});

describe('TLS on the gateway port', () => {
  it('a client certificate from another CA is refused in the handshake', async () => {
    await startWest();
    const strangerCa = await createCertificateAuthority({ commonName: 'stranger' });
    const stranger = await createPeerCertificate(strangerCa, 'east');
    const attempt = tlsTo(west, stranger, { ca: pki.ca.cert, servername: 'west' }).then(async (s) => {
      // TLS 1.3: the client learns of the refusal after its handshake completes.
      s.write('GET /healthz HTTP/1.1\r\nHost: west\r\n\r\n');
      return readResponse(s, 2000, false);
    });
    await expect(attempt).rejects.toThrow();
    await expectStillServing();
  });

  it('a client without a certificate is refused', async () => {
    await startWest();
    const attempt = new Promise((resolve, reject) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: west.gatewayAddress.port,
        ca: pki.ca.cert,
        servername: 'west',
      });
      s.on('error', reject);
      s.on('secureConnect', () => {
        s.write('GET /healthz HTTP/1.1\r\nHost: west\r\n\r\n');
        s.on('data', resolve);
        s.on('close', () => reject(new Error('closed')));
      });
    });
    await expect(attempt).rejects.toBeDefined();
    await expectStillServing();
  });

  it('a client that stalls mid-handshake is dropped after the handshake timeout', async () => {
    await startWest();
    const socket = net.connect(west.gatewayAddress.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])); // a ClientHello record header, then nothing
    const closed = once(socket, 'close');
    await expectStillServing(); // served while the staller waits
    await closed;
  });

  it('plain-text garbage on the gateway port closes that connection only', async () => {
    await startWest();
    const socket = net.connect(west.gatewayAddress.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    socket.write('GET / HTTP/1.1\r\n\r\n' + randomBytes(1000).toString('binary'));
    await closed;
    await expectStillServing();
  });
});

describe('h2 fast path refusals', () => {
  const fast = (name: string, attrs: Record<string, string>) => ({
    ':method': 'CONNECT',
    ':authority': `${name}.default`,
    [EXPORT_NAME_HEADER]: name,
    [EXPORT_NAMESPACE_HEADER]: 'default',
    [SOURCE_ATTRIBUTES_HEADER]: encodeAttributesHeader(attrs),
  });

  it('refuses unknown exports (404), policy (403), identity (403), bad attributes (400); serves /healthz and /authz too', async () => {
    await startWest({ policies: [ALLOW_ALL, DENY_EAST] });
    const north = await h2To(west, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
    const east = await h2To(west, pki.certs.east, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => north.destroy());
    cleanup.add(() => east.destroy());
    const northAttrs = { 'peer.clusterlink.net/name': 'north' };

    const unknown = await h2Request(north, fast('nope', northAttrs));
    expect([unknown.status, unknown.headers[ERROR_CODE_HEADER]]).toEqual([
      404,
      DataPlaneErrorCode.noSuchExport,
    ]);
    const denied = await h2Request(east, fast('svc', eastAttrs));
    expect([denied.status, denied.headers[ERROR_CODE_HEADER]]).toEqual([
      403,
      DataPlaneErrorCode.policyDenied,
    ]);
    const liar = await h2Request(north, fast('svc', eastAttrs));
    expect([liar.status, liar.headers[ERROR_CODE_HEADER]]).toEqual([
      403,
      DataPlaneErrorCode.identityMismatch,
    ]);
    const bad = await h2Request(north, {
      ...fast('svc', northAttrs),
      [SOURCE_ATTRIBUTES_HEADER]: 'not-base64-json',
    });
    expect(bad.status).toBe(400);
    const other = await h2Request(north, { ':method': 'GET', ':path': '/' });
    expect(other.status).toBe(400);
    const health = await h2Request(north, { ':method': 'GET', ':path': '/healthz' });
    expect(health.status).toBe(200);
    const authz = await h2Request(
      north,
      { ':method': 'POST', ':path': '/authz' },
      JSON.stringify({ ServiceName: 'svc', ServiceNamespace: 'default', SrcAttributes: northAttrs }),
    );
    expect(authz.status).toBe(200);
    expect(typeof authz.headers['x-access-token']).toBe('string');

    // The same session still opens tunnels.
    const ok = await h2Request(north, fast('svc', northAttrs));
    expect(ok.status).toBe(200);
    const payload = randomBytes(50_000);
    const chunks: Buffer[] = [];
    ok.stream.on('data', (c: Buffer) => chunks.push(c));
    ok.stream.end(payload);
    await once(ok.stream, 'end');
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(payload));
  });

  it('token CONNECT over h2: no token 400; expired, forged or another peer’s token 401; a good one opens once', async () => {
    await startWest();
    const east = await h2To(west, pki.certs.east, { ca: pki.ca.cert, servername: 'west' });
    const north = await h2To(west, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => east.destroy());
    cleanup.add(() => north.destroy());
    const connect = (session: typeof east, authorization?: string) =>
      h2Request(session, {
        ':method': 'CONNECT',
        ':authority': 'west:443',
        ...(authorization ? { authorization } : {}),
      });
    const claims = { exportName: 'svc', exportNamespace: 'default', peer: 'east' };
    const key = Buffer.from(TOKEN_KEY, 'base64');
    expect((await connect(east)).status).toBe(400);
    expect((await connect(east, `Bearer ${issueToken(key, claims, Date.now() - 6000).token}`)).status).toBe(
      401,
    );
    expect((await connect(east, `Bearer ${issueToken(randomBytes(32), claims).token}`)).status).toBe(401);
    const token = issueToken(key, claims).token;
    expect((await connect(north, `Bearer ${token}`)).status).toBe(401);
    const ok = await connect(east, `Bearer ${token}`);
    expect(ok.status).toBe(200);
    const chunks: Buffer[] = [];
    ok.stream.on('data', (c: Buffer) => chunks.push(c));
    ok.stream.end('via token');
    await once(ok.stream, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('via token');
    // Spent: presented again, even on the same session, it opens nothing.
    const replayed = await connect(east, `Bearer ${token}`);
    expect([replayed.status, replayed.headers[ERROR_CODE_HEADER]]).toEqual([
      401,
      DataPlaneErrorCode.badToken,
    ]);
  });

  it('garbage instead of the h2 preface closes that connection only', async () => {
    await startWest();
    const socket = await tlsTo(west, pki.certs.north, { ca: pki.ca.cert, servername: 'west', alpn: ['h2'] });
    expect(socket.alpnProtocol).toBe('h2');
    socket.on('error', () => undefined);
    const ended = new Promise((resolve) => {
      socket.once('end', resolve); // the gateway closed its side
      socket.once('close', resolve);
    });
    socket.write(randomBytes(4096));
    socket.resume();
    await ended;
    await expectStillServing();
  });

  it('oversized header block: the stream is refused and the session keeps serving', async () => {
    await startWest();
    const north = await h2To(west, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => north.destroy());
    const huge = { ':method': 'GET', ':path': '/healthz', 'x-big': 'a'.repeat(100 * 1024) };
    const outcome = await h2Request(north, huge).then(
      (a) => a.status,
      () => 'reset',
    );
    expect(outcome === 431 || outcome === 'reset').toBe(true);
    await expectStillServing();
  });
});
