/**
 * The snapshot channel over real mutual TLS on loopback: delivery of every new version by
 * long-poll, refusal of other identities, and the client keeping its last snapshot while the
 * server is away, then picking up the newer one after a restart.
 */
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';
import type { GatewaySnapshot } from '../../../controller/api/snapshot';
import { parseHostPort, SnapshotClient } from '../../../controller/snapshot/client';
import { SnapshotPublisher } from '../../../controller/snapshot/publisher';
import { SnapshotServer } from '../../../controller/snapshot/server';
import { parseSnapshot, SnapshotFormatError } from '../../../controller/snapshot/wire';
import type { SnapshotContent } from '../../../controller/snapshot/builder';

jest.setTimeout(30_000);

let tlsEast: { ca: string; cert: string; key: string };
let tlsWest: { ca: string; cert: string; key: string };
let tlsOtherFabric: { ca: string; cert: string; key: string };

beforeAll(async () => {
  const ca = await createCertificateAuthority({ commonName: 'fabric' });
  const east = await createPeerCertificate(ca, 'east');
  const west = await createPeerCertificate(ca, 'west');
  tlsEast = { ca: ca.cert, ...east };
  tlsWest = { ca: ca.cert, ...west };
  const other = await createCertificateAuthority({ commonName: 'other' });
  tlsOtherFabric = { ca: ca.cert, ...(await createPeerCertificate(other, 'east')) };
});

function content(tokenKey: string): SnapshotContent {
  return {
    schema: 1,
    localPeer: { name: 'east', labels: {} },
    tls: tlsEast,
    tokenKey,
    peers: [],
    exports: [],
    imports: [],
    policies: [],
    clients: [],
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(publisher: SnapshotPublisher, port = 0) {
  const server = new SnapshotServer({
    source: publisher,
    tls: tlsEast,
    peerName: 'east',
    host: '127.0.0.1',
    port,
    longPollMs: 500,
  });
  await server.start();
  cleanups.push(() => server.close());
  return server;
}

function startClient(port: number, tls = tlsEast) {
  const client = new SnapshotClient({
    host: '127.0.0.1',
    port,
    tls,
    peerName: 'east',
    requestTimeoutMs: 5000,
  });
  cleanups.push(() => client.close());
  return client;
}

function nextSnapshot(client: SnapshotClient, after: number): Promise<GatewaySnapshot> {
  return new Promise((resolve) => {
    const off = client.subscribe((s) => {
      if (s.version > after) {
        queueMicrotask(off);
        resolve(s);
      }
    });
  });
}

describe('snapshot channel', () => {
  it('delivers the current snapshot and then each new version', async () => {
    const pub = new SnapshotPublisher();
    pub.publish(content('a'.repeat(44)));
    const server = await startServer(pub);
    const client = startClient(server.address.port);
    const first = await client.waitForSnapshot(5000);
    expect(first.tokenKey).toBe('a'.repeat(44));
    const waiting = nextSnapshot(client, first.version);
    pub.publish(content('b'.repeat(44)));
    const second = await waiting;
    expect(second.tokenKey).toBe('b'.repeat(44));
    expect(second.version).toBeGreaterThan(first.version);
  });

  it('waits for the first snapshot when there is none yet', async () => {
    const pub = new SnapshotPublisher();
    const server = await startServer(pub);
    const client = startClient(server.address.port);
    const got = client.waitForSnapshot(5000);
    setTimeout(() => pub.publish(content('c'.repeat(44))), 700); // past one long-poll timeout
    expect((await got).tokenKey).toBe('c'.repeat(44));
  });

  it('refuses another peer of the fabric (403) and a certificate from another CA (TLS)', async () => {
    const pub = new SnapshotPublisher();
    pub.publish(content('a'.repeat(44)));
    const server = await startServer(pub);
    for (const tls of [tlsWest, tlsOtherFabric]) {
      const client = startClient(server.address.port, tls);
      await expect(client.waitForSnapshot(1500)).rejects.toThrow('no snapshot');
      expect(client.snapshot).toBeUndefined();
      expect(client.connected).toBe(false);
    }
  });

  it('keeps the last snapshot while the server is down and takes the newer one after a restart', async () => {
    const pub = new SnapshotPublisher();
    pub.publish(content('a'.repeat(44)));
    const server = await startServer(pub);
    const port = server.address.port;
    const client = startClient(port);
    const first = await client.waitForSnapshot(5000);
    await server.close();
    await new Promise((r) => setTimeout(r, 600));
    expect(client.snapshot).toBe(first);
    expect(client.connected).toBe(false);

    const restarted = new SnapshotPublisher();
    restarted.publish(content('d'.repeat(44)));
    await startServer(restarted, port);
    const next = await nextSnapshot(client, first.version);
    expect(next.tokenKey).toBe('d'.repeat(44));
  });
});

describe('parseSnapshot', () => {
  it('accepts a snapshot and refuses malformed ones with a stable code', () => {
    const ok = JSON.stringify({ ...content('k'), version: 3 });
    expect(parseSnapshot(ok).version).toBe(3);
    for (const bad of [
      'nope',
      '[]',
      JSON.stringify({ ...content('k'), version: 0 }),
      JSON.stringify({ ...content('k'), version: 1, schema: 2 }),
      JSON.stringify({ ...content('k'), version: 1, peers: {} }),
    ]) {
      expect(() => parseSnapshot(bad)).toThrow(SnapshotFormatError);
    }
  });
});

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port and a bare host with the default port', () => {
    expect(parseHostPort('cl-controlplane:9444')).toEqual({ host: 'cl-controlplane', port: 9444 });
    expect(parseHostPort('[fd00::1]:1234')).toEqual({ host: 'fd00::1', port: 1234 });
    expect(parseHostPort('10.0.0.1')).toEqual({ host: '10.0.0.1', port: 9444 });
    expect(() => parseHostPort('a:b:c')).toThrow('not host:port');
    expect(() => parseHostPort('a:70000')).toThrow('not host:port');
  });
});
