/**
 * Who may use the gateway port, and what a token is worth: certificates that must not pass or must
 * not name a peer, and tokens that are altered, re-targeted, replayed, expired or outlive their export.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import {
  createCertificate,
  createCertificateAuthority,
  type CertificateAndKey,
} from '../../../cli/pki/certificates';
import { connectWithToken, requestToken } from '../../../dataplane/client/http1-client';
import { issueToken } from '../../../dataplane/token';
import {
  collect,
  Cleanup,
  exportOf,
  h2Request,
  h2To,
  snapshotFor,
  tlsTo,
  TOKEN_KEY,
  type Pki,
} from '../dataplane/harness';
import {
  expectBackToBaseline,
  expectStillServing,
  fabric,
  fastHeaders,
  startWest,
  type Site,
} from './fixtures';

jest.setTimeout(15_000);

let pki: Pki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await fabric();
});
afterEach(() => cleanup.run());

const svc = { name: 'svc', namespace: 'default' };
const attrs = (peer: string) => ({ 'peer.clusterlink.net/name': peer });

async function connectAs(site: Site, identity: CertificateAndKey) {
  const socket = await tlsTo(site.dp, identity, { ca: pki.ca.cert, servername: 'west' });
  cleanup.add(() => socket.destroy());
  socket.once('end', () => socket.end());
  return socket;
}

/** Status of a raw CONNECT with the given token, on a fresh connection as `identity`. */
async function connectStatus(site: Site, identity: CertificateAndKey, token: string): Promise<string> {
  const socket = await connectAs(site, identity);
  const outcome = collect(socket as unknown as net.Socket);
  socket.write(`CONNECT west:443 HTTP/1.1\r\nHost: west\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  const first = await new Promise<string>((resolve) => {
    socket.once('data', (c: Buffer) => resolve(c.toString('latin1').slice(0, 12)));
    socket.once('close', () => resolve('closed'));
  });
  socket.destroy();
  await outcome;
  return first;
}

/**
 * Whether a connection with this identity gets an answer on the gateway port. With TLS 1.3 the
 * server checks the client certificate after the client considers the handshake done, so a refusal
 * arrives as an alert (error or close) instead of the answer to the first request.
 */
function handshake(site: Site, identity: CertificateAndKey): Promise<'accepted' | 'refused'> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: site.dp.gatewayAddress.port,
      ca: pki.ca.cert,
      cert: identity.cert,
      key: identity.key,
      servername: 'west',
      ALPNProtocols: ['http/1.1'],
    });
    cleanup.add(() => socket.destroy());
    const done = (r: 'accepted' | 'refused') => {
      socket.destroy();
      resolve(r);
    };
    socket.once('error', () => done('refused'));
    socket.once('close', () => done('refused'));
    socket.once('data', (c: Buffer) =>
      done(c.toString().startsWith('HTTP/1.1 200') ? 'accepted' : 'refused'),
    );
    socket.once('secureConnect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: west\r\n\r\n'));
  });
}

describe('tokens on the gateway port', () => {
  it('a tampered signature, a swapped export or claims re-signed with another key: 401', async () => {
    const site = await startWest(cleanup, pki, {}, { exports: [] });
    const key = Buffer.from(TOKEN_KEY, 'base64');
    const good = issueToken(key, { exportName: 'svc', exportNamespace: 'default', peer: 'north' }).token;
    const [v, claims, sig] = good.split('.');
    const flipped = sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1);
    const swappedClaims = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(claims, 'base64url').toString()), en: 'secret' }),
    ).toString('base64url');
    const forged = issueToken(randomBytes(32), {
      exportName: 'svc',
      exportNamespace: 'default',
      peer: 'north',
    }).token;
    await site.dp.applySnapshot(
      snapshotFor(pki, {
        name: 'west',
        exports: [exportOf('svc', site.echo.port), exportOf('secret', site.echo.port)],
      }),
    );
    for (const token of [
      `${v}.${claims}.${flipped}`,
      `${v}.${swappedClaims}.${sig}`,
      forged,
      `${v}.${claims}.`,
      `${v}.${claims}`,
    ]) {
      expect([token, await connectStatus(site, pki.certs.north, token)]).toEqual([token, 'HTTP/1.1 401']);
    }
    expect(site.echo.accepted).toBe(0);
    expect(await connectStatus(site, pki.certs.north, good)).toBe('HTTP/1.1 200');
    await expectBackToBaseline(site);
  });

  it('a token is refused when presented by another peer, on either protocol', async () => {
    const site = await startWest(cleanup, pki);
    const socket = await connectAs(site, pki.certs.north);
    const { token } = await requestToken(socket, 'west', svc, attrs('north'), 2000);
    socket.destroy();
    expect(await connectStatus(site, pki.certs.east, token)).toBe('HTTP/1.1 401');
    const east = await h2To(site.dp, pki.certs.east, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => east.destroy());
    const h2 = await h2Request(east, {
      ':method': 'CONNECT',
      ':authority': 'west:443',
      authorization: `Bearer ${token}`,
    });
    expect(h2.status).toBe(401);
    expect(site.echo.accepted).toBe(0);
    east.destroy();
    await expectBackToBaseline(site);
  });

  it('expiry edge: valid until the last millisecond, refused from issue + 5 s on (injected clock)', async () => {
    let now = Date.now();
    const site = await startWest(cleanup, pki, { now: () => now });
    const socket = await connectAs(site, pki.certs.north);
    const issuedAt = now;
    const { token } = await requestToken(socket, 'west', svc, attrs('north'), 2000);
    socket.destroy();
    now = issuedAt + 4999;
    expect(await connectStatus(site, pki.certs.north, token)).toBe('HTTP/1.1 200');
    now = issuedAt + 5000;
    expect(await connectStatus(site, pki.certs.north, token)).toBe('HTTP/1.1 401');
    await expectBackToBaseline(site);
  });

  it('a token for an export deleted by a snapshot change: 404, nothing connected', async () => {
    const site = await startWest(cleanup, pki);
    const socket = await connectAs(site, pki.certs.north);
    const { token } = await requestToken(socket, 'west', svc, attrs('north'), 2000);
    await site.dp.applySnapshot(snapshotFor(pki, { name: 'west', exports: [] }));
    // On the same connection (the way our client uses it) and on a new one.
    await expect(connectWithToken(socket, 'west', token, 2000)).rejects.toMatchObject({
      code: 'CL_ERR_NO_SUCH_EXPORT',
    });
    expect(await connectStatus(site, pki.certs.north, token)).toBe('HTTP/1.1 404');
    expect(site.echo.accepted).toBe(0);
    await expectBackToBaseline(site);
  });

  it('a token whose export moved to another target follows the snapshot, not the token', async () => {
    const site = await startWest(cleanup, pki);
    const socket = await connectAs(site, pki.certs.north);
    const { token } = await requestToken(socket, 'west', svc, attrs('north'), 2000);
    socket.destroy();
    await site.dp.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', 1)] })); // nothing listens
    expect(await connectStatus(site, pki.certs.north, token)).toBe('HTTP/1.1 502');
    expect(site.echo.accepted).toBe(0);
    await expectBackToBaseline(site);
  });
});

describe('identities on the gateway port', () => {
  it('a certificate whose first DNS SAN is not the claimed peer: 403 on /authz and the fast path', async () => {
    const site = await startWest(cleanup, pki);
    const twoNames = await createCertificate({ ca: pki.ca, commonName: 'east', dnsNames: ['north', 'east'] });
    const socket = await connectAs(site, twoNames);
    await expect(requestToken(socket, 'west', svc, attrs('east'), 2000)).rejects.toMatchObject({
      code: 'CL_ERR_IDENTITY_MISMATCH',
    });
    const session = await h2To(site.dp, twoNames, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => session.destroy());
    expect((await h2Request(session, fastHeaders('svc', 'east'))).status).toBe(403);
    // Claiming its first name works: identity is the first DNS SAN, whatever the CN says.
    expect((await h2Request(session, fastHeaders('svc', 'north'))).status).toBe(200);
    session.destroy();
    socket.destroy();
    await expectBackToBaseline(site);
  });

  it('a certificate without a DNS SAN: 400 everywhere, no token, no tunnel', async () => {
    const site = await startWest(cleanup, pki);
    const nameless = await createCertificate({
      ca: pki.ca,
      commonName: 'east',
      dnsNames: [],
      ipAddresses: ['127.0.0.1'],
    });
    const socket = await connectAs(site, nameless);
    await expect(requestToken(socket, 'west', svc, attrs('east'), 2000)).rejects.toMatchObject({
      code: 'CL_ERR_BAD_REQUEST',
    });
    const key = Buffer.from(TOKEN_KEY, 'base64');
    const token = issueToken(key, { exportName: 'svc', exportNamespace: 'default', peer: '' }).token;
    expect(await connectStatus(site, nameless, token)).toBe('HTTP/1.1 400');
    const session = await h2To(site.dp, nameless, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => session.destroy());
    expect((await h2Request(session, fastHeaders('svc', 'east'))).status).toBe(400);
    expect(site.echo.accepted).toBe(0);
    session.destroy();
    socket.destroy();
    await expectBackToBaseline(site);
  });

  it('an expired certificate, one not yet valid, one from another CA: refused in the handshake', async () => {
    const site = await startWest(cleanup, pki);
    const expired = await createCertificate({
      ca: pki.ca,
      commonName: 'east',
      dnsNames: ['east'],
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      validDays: 1,
    });
    const future = await createCertificate({
      ca: pki.ca,
      commonName: 'east',
      dnsNames: ['east'],
      notBefore: new Date(Date.now() + 86_400_000),
    });
    const otherCa = await createCertificateAuthority({ commonName: 'fabric' }); // same name, other key
    const foreign = await createCertificate({ ca: otherCa, commonName: 'east', dnsNames: ['east'] });
    for (const identity of [expired, future, foreign])
      expect(await handshake(site, identity)).toBe('refused');
    expect(await handshake(site, pki.certs.east)).toBe('accepted');
    await expectBackToBaseline(site);
  });

  it('a fabric certificate without clientAuth usage is refused (OpenSSL checks the EKU of client certificates)', async () => {
    const site = await startWest(cleanup, pki);
    const serverOnly = await createCertificate({
      ca: pki.ca,
      commonName: 'east',
      dnsNames: ['east'],
      clientAuth: false,
    });
    expect(await handshake(site, serverOnly)).toBe('refused');
    await expectBackToBaseline(site);
  });

  it('a CA certificate presented as a client certificate is refused', async () => {
    const site = await startWest(cleanup, pki);
    // The fabric CA itself (whoever holds its key could mint anything, but its own certificate must
    // not act as a peer), and another CA's certificate.
    expect(await handshake(site, pki.ca)).toBe('refused');
    expect(await handshake(site, await createCertificateAuthority({ commonName: 'east' }))).toBe('refused');
    await expectBackToBaseline(site);
    await expectStillServing(site, cleanup);
  });
});

describe('certificates that expire while connected', () => {
  it('a pooled h2 session and a kept-alive HTTP/1.1 connection serve no new request once the client certificate expired; open tunnels finish', async () => {
    let now = Date.now();
    const site = await startWest(cleanup, pki, { now: () => now });
    const shortLived = await createCertificate({
      ca: pki.ca,
      commonName: 'east',
      dnsNames: ['east'],
      validDays: 1,
    });
    const expiry = new X509Certificate(shortLived.cert).validTo;
    const session = await h2To(site.dp, shortLived, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => session.destroy());
    const open = await h2Request(session, fastHeaders('svc', 'east'));
    expect(open.status).toBe(200);
    const socket = await connectAs(site, shortLived);
    const { token } = await requestToken(socket, 'west', svc, attrs('east'), 2000);

    now = Date.parse(expiry) + 1000; // the gateway's clock passes the certificate's end
    const refused = await h2Request(session, fastHeaders('svc', 'east'));
    expect([refused.status, refused.headers['x-cl-error-code']]).toEqual([403, 'CL_ERR_IDENTITY_MISMATCH']);
    await expect(connectWithToken(socket, 'west', token, 2000)).rejects.toMatchObject({
      code: 'CL_ERR_IDENTITY_MISMATCH',
    });
    // The tunnel opened before still carries bytes.
    const chunks: Buffer[] = [];
    open.stream.on('data', (c: Buffer) => chunks.push(c));
    open.stream.end('before expiry');
    await once(open.stream, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('before expiry');
    session.destroy();
    socket.destroy();
    await expectBackToBaseline(site);
  });
});
