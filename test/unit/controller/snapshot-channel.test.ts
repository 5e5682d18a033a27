/**
 * The snapshot channel over real mutual TLS on loopback: delivery of every new version by
 * long-poll, refusal of other identities, and the client keeping its last snapshot while the
 * server is away, then picking up the newer one after a restart.
 */
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';
import type { GatewaySnapshot } from '../../../kernel/api/snapshot';
import { parseHostPort, SnapshotClient } from '../../../controller/snapshot/client';
import { SnapshotPublisher } from '../../../controller/snapshot/publisher';
import { SnapshotServer } from '../../../controller/snapshot/server';
import {
  clientLacks,
  parseSnapshot,
  SnapshotFormatError,
  snapshotQuery,
} from '../../../controller/snapshot/wire';
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

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
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

  it('hands on the snapshot of another instance even when its version is equal or lower', async () => {
    const a = new SnapshotPublisher({ origin: 'replica-a' });
    const first = a.publish(content('a'.repeat(44)));
    const serverA = await startServer(a);
    const port = serverA.address.port;
    const client = startClient(port);
    expect((await client.waitForSnapshot(5000)).origin).toBe('replica-a');
    const delivered: GatewaySnapshot[] = [];
    client.subscribe((s) => delivered.push(s));

    // Same version, another origin: the long poll must not wait for the next change of B.
    await serverA.close();
    const b = new SnapshotPublisher({ origin: 'replica-b', now: () => first.version });
    b.publish(content('b'.repeat(44)));
    const serverB = await startServer(b, port);
    await waitFor(() => delivered.some((s) => s.origin === 'replica-b'));
    expect(delivered.at(-1)).toMatchObject({ origin: 'replica-b', version: first.version });

    // A third instance whose clock is an hour behind.
    await serverB.close();
    const c = new SnapshotPublisher({ origin: 'replica-c', now: () => Date.now() - 3_600_000 });
    c.publish(content('c'.repeat(44)));
    await startServer(c, port);
    await waitFor(() => delivered.some((s) => s.origin === 'replica-c'));
    expect(delivered.at(-1)!.version).toBeLessThan(first.version);
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

describe('snapshot origin on the wire', () => {
  const withOrigin = (origin: unknown) => JSON.stringify({ ...content('k'), version: 3, origin });

  it('accepts a token origin or none, refuses any other with a clear error', () => {
    expect(parseSnapshot(withOrigin('Ab-_09')).origin).toBe('Ab-_09');
    expect(parseSnapshot(withOrigin(undefined)).origin).toBeUndefined();
    for (const bad of ['', 'x'.repeat(65), 'a b', 'a/b', 7, null]) {
      expect(() => parseSnapshot(withOrigin(bad))).toThrow(/^snapshot origin must be 1 to 64 characters/);
    }
  });

  it('names the held snapshot in the long-poll query; the server answers when version or origin differ', () => {
    const held = { version: 5, origin: 'a' };
    const query = (q: string) => new URLSearchParams(q);
    expect(snapshotQuery(undefined)).toBe('after=0');
    expect(snapshotQuery(held)).toBe('after=5&origin=a');
    expect(snapshotQuery({ version: 5 })).toBe('after=5&origin=');
    expect(clientLacks(held, query(snapshotQuery(held)))).toBe(false);
    expect(clientLacks({ version: 5, origin: 'b' }, query(snapshotQuery(held)))).toBe(true);
    expect(clientLacks({ version: 6, origin: 'a' }, query(snapshotQuery(held)))).toBe(true);
    expect(clientLacks({ version: 5 }, query(snapshotQuery({ version: 5 })))).toBe(false);
    // A client that sends no origin is compared by version alone (no answer loop).
    expect(clientLacks({ version: 5, origin: 'b' }, query('after=5'))).toBe(false);
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
