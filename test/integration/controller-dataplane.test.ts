/**
 * The control plane feeding a real data plane over the snapshot channel: an Import becomes a
 * listening import port in the data plane; the data plane keeps serving on its last snapshot
 * while the control plane is down, and takes the next one from the restarted control plane.
 */
import * as net from 'node:net';
import { runDataPlane, type DataPlaneProcess } from '../../dataplane';
import { Resources } from '../../controller/k8s/resources';
import { runControlPlane, type ControlPlane } from '../../controller/main';
import { SnapshotClient } from '../../controller/snapshot/client';
import { startTestCluster, type TestCluster } from '../harness/cluster';
import {
  accepts,
  create,
  createDataplanePod,
  crd,
  ensureNamespace,
  eventually,
  prepareSite,
  type Site,
} from './controller-helpers';

jest.setTimeout(120_000);

let cluster: TestCluster;
let site: Site;
let cp: ControlPlane | undefined;
let dp: DataPlaneProcess | undefined;
let source: SnapshotClient | undefined;

const SOURCES = [{ peer: 'west', exportName: 'echo', exportNamespace: 'apps' }];
const noPeers = () => ({ setPeers: () => undefined, verdict: () => undefined, close: () => undefined });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function startControlPlane(snapshotPort: number): Promise<ControlPlane> {
  return runControlPlane({
    kubeConfig: cluster.kubeConfig,
    tls: site.tls,
    adminPort: 0,
    snapshotHost: '127.0.0.1',
    snapshotPort,
    leaseRetryMs: 200,
    peerMonitor: noPeers,
  });
}

beforeAll(async () => {
  cluster = await startTestCluster({ name: 'controller-dataplane' });
  site = await prepareSite(cluster);
  await ensureNamespace(site.client, 'apps');
  await createDataplanePod(site.client, 'cl-dataplane-0', '10.0.0.21');
}, 120_000);

afterAll(async () => {
  await dp?.close(100);
  await source?.close();
  await cp?.close();
  site?.client.close();
  await cluster?.stop();
}, 60_000);

describe('control plane to data plane', () => {
  it('opens import listeners from the snapshot and keeps them while the control plane restarts', async () => {
    cp = await startControlPlane(0);
    const snapshotPort = cp.snapshotAddress.port;
    source = new SnapshotClient({ host: '127.0.0.1', port: snapshotPort, tls: site.tls, peerName: 'east' });
    dp = await runDataPlane({
      source,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      adminPort: 0,
    });

    const first = await freePort();
    await create(
      site.client,
      Resources.import,
      crd('Import', 'apps', 'first', { port: 80, targetPort: first, sources: SOURCES }),
    );
    await eventually(
      () => dp!.dataPlane.importAddress('apps', 'first')?.port === first,
      'import listener',
      30_000,
    );
    expect(await accepts(first)).toBe(true);
    const versionBefore = dp.dataPlane.snapshotVersion!;

    // The control plane goes away: the data plane keeps its listener and stays ready.
    await cp.close();
    cp = undefined;
    await new Promise((r) => setTimeout(r, 1000));
    expect(source.connected).toBe(false);
    expect(dp.dataPlane.ready).toBe(true);
    expect(await accepts(first)).toBe(true);

    // Changes made meanwhile arrive once a control plane is back on the same address.
    const second = await freePort();
    await create(
      site.client,
      Resources.import,
      crd('Import', 'apps', 'second', { port: 80, targetPort: second, sources: SOURCES }),
    );
    cp = await startControlPlane(snapshotPort);
    await eventually(
      () => dp!.dataPlane.importAddress('apps', 'second')?.port === second,
      'second listener',
      30_000,
    );
    expect(dp.dataPlane.snapshotVersion!).toBeGreaterThan(versionBefore);
    expect(await accepts(first)).toBe(true);
    expect(await accepts(second)).toBe(true);
  });
});
