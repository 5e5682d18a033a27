/**
 * A data plane whose snapshot channel moves to another control-plane instance with a clock an
 * hour behind (a failover to a replica, or a restart on a node whose clock was set back): the new
 * instance's snapshot has a lower version, yet it is applied at once because it comes from another
 * origin. Real snapshot servers and client over mutual TLS, a real data-plane process.
 */
import { createCertificateAuthority, createPeerCertificate } from '../../cli/pki/certificates';
import type { SnapshotImport, SnapshotTls } from '../../kernel/api/snapshot';
import type { SnapshotContent } from '../../controller/snapshot/builder';
import { SnapshotClient } from '../../controller/snapshot/client';
import { SnapshotPublisher } from '../../controller/snapshot/publisher';
import { SnapshotServer } from '../../controller/snapshot/server';
import { runDataPlane } from '../../dataplane';
import { accepts, eventually } from './controller-helpers';

jest.setTimeout(60_000);

const HOUR = 3_600_000;
let tls: SnapshotTls;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  const ca = await createCertificateAuthority({ commonName: 'fabric' });
  tls = { ca: ca.cert, ...(await createPeerCertificate(ca, 'east')) };
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function importNamed(name: string): SnapshotImport {
  const source = { peer: 'west', exportName: name, exportNamespace: 'apps' };
  return {
    name,
    namespace: 'apps',
    listenHost: '127.0.0.1',
    listenPort: 0,
    lbScheme: 'static',
    sources: [source],
    labels: {},
  };
}

function content(imports: SnapshotImport[]): SnapshotContent {
  return {
    schema: 1,
    localPeer: { name: 'east', labels: {} },
    tls,
    tokenKey: Buffer.alloc(32, 7).toString('base64'),
    peers: [],
    exports: [],
    imports,
    policies: [],
    clients: [],
  };
}

async function serve(publisher: SnapshotPublisher, port = 0): Promise<SnapshotServer> {
  const server = new SnapshotServer({ source: publisher, tls, peerName: 'east', host: '127.0.0.1', port });
  await server.start();
  cleanups.push(() => server.close());
  return server;
}

describe('snapshot channel failover', () => {
  it('applies the snapshot of an instance whose clock is an hour behind', async () => {
    const a = new SnapshotPublisher();
    const fromA = a.publish(content([importNamed('first')]));
    const serverA = await serve(a);
    const port = serverA.address.port;
    const source = new SnapshotClient({ host: '127.0.0.1', port, tls, peerName: 'east' });
    cleanups.push(() => source.close());
    const dp = await runDataPlane({ source, gatewayHost: '127.0.0.1', gatewayPort: 0, adminPort: 0 });
    cleanups.push(() => dp.close(100));
    const first = await eventually(
      () => dp.dataPlane.importAddress('apps', 'first'),
      'first listener',
      10_000,
    );

    await serverA.close();
    const b = new SnapshotPublisher({ now: () => Date.now() - HOUR });
    const fromB = b.publish(content([importNamed('second')]));
    expect(fromB.version).toBeLessThan(fromA.version);
    await serve(b, port);

    await eventually(() => dp.dataPlane.snapshotVersion === fromB.version, 'snapshot of B', 15_000);
    const second = dp.dataPlane.importAddress('apps', 'second');
    expect(second).toBeDefined();
    expect(await accepts(second!.port)).toBe(true);
    expect(dp.dataPlane.importAddress('apps', 'first')).toBeUndefined();
    expect(await accepts(first.port)).toBe(false);
  });
});
