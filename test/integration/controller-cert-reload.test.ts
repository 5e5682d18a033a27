/**
 * Certificates replaced in the control plane's certificate folder (a mounted Secret: the `..data`
 * symlink is renamed over) reach, without a restart, the snapshot, the data plane that fetches it
 * (whose snapshot channel then authenticates with them), and the peer heartbeats.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCertificateAuthority, createPeerCertificate } from '../../cli/pki/certificates';
import type { SnapshotTls } from '../../kernel/api/snapshot';
import { defaultCertificateFiles } from '../../controller/identity';
import { Resources } from '../../controller/k8s/resources';
import { runControlPlane, type ControlPlane } from '../../controller/main';
import type { PeerMonitorFactory } from '../../controller/peer-monitor';
import { SnapshotClient } from '../../controller/snapshot/client';
import { runDataPlane, type DataPlaneProcess } from '../../dataplane';
import { startTestCluster, type TestCluster } from '../harness/cluster';
import {
  GATEWAY_NS,
  create,
  createDataplanePod,
  crd,
  eventually,
  prepareSite,
  type Site,
} from './controller-helpers';

jest.setTimeout(120_000);

let cluster: TestCluster;
let site: Site;
let certDir: string;
let cp: ControlPlane | undefined;
let dp: DataPlaneProcess | undefined;
let source: SnapshotClient | undefined;
let versions = 0;
/** The credentials the control plane last handed to its peer monitor. */
let monitorTls: SnapshotTls | undefined;
/** The same peer, certified by another fabric's CA. */
let otherTls: SnapshotTls;

const recordingMonitor: PeerMonitorFactory = () => ({
  setPeers: (_peers, tls) => {
    monitorTls = tls;
  },
  verdict: () => undefined,
  close: () => undefined,
});

/** Writes a new version folder and renames `..data` over, like the kubelet updating a Secret volume. */
function publish(tls: SnapshotTls): void {
  const version = `..v${++versions}`;
  fs.mkdirSync(path.join(certDir, version));
  fs.writeFileSync(path.join(certDir, version, 'ca.pem'), tls.ca);
  fs.writeFileSync(path.join(certDir, version, 'cert.pem'), tls.cert);
  fs.writeFileSync(path.join(certDir, version, 'key.pem'), tls.key, { mode: 0o600 });
  fs.symlinkSync(version, path.join(certDir, '..data_tmp'));
  fs.renameSync(path.join(certDir, '..data_tmp'), path.join(certDir, '..data'));
  for (const file of ['ca.pem', 'cert.pem', 'key.pem']) {
    const link = path.join(certDir, file);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join('..data', file), link);
  }
}

beforeAll(async () => {
  cluster = await startTestCluster({ name: 'controller-cert-reload' });
  site = await prepareSite(cluster);
  await createDataplanePod(site.client, 'cl-dataplane-0', '10.0.0.31');
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-ctrl-secret-'));
  publish(site.tls);
  const other = await createCertificateAuthority({ commonName: 'other-fabric' });
  const otherCert = await createPeerCertificate(other, 'east');
  otherTls = { ca: other.cert, cert: otherCert.cert, key: otherCert.key };
}, 120_000);

afterAll(async () => {
  await dp?.close(100);
  await source?.close();
  await cp?.close();
  site?.client.close();
  await cluster?.stop();
  if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
}, 60_000);

it('puts swapped certificates into the snapshot, the data plane and the heartbeats, and back', async () => {
  cp = await runControlPlane({
    kubeConfig: cluster.kubeConfig,
    certDir,
    certCheckIntervalMs: 500,
    adminPort: 0,
    snapshotHost: '127.0.0.1',
    snapshotPort: 0,
    leaseRetryMs: 200,
    peerMonitor: recordingMonitor,
  });
  const controlPlane = cp;
  await create(
    site.client,
    Resources.peer,
    crd('Peer', GATEWAY_NS, 'west', { gateways: [{ host: '127.0.0.1', port: 9 }] }),
  );
  source = new SnapshotClient({
    host: '127.0.0.1',
    port: controlPlane.snapshotAddress.port,
    tls: site.tls,
    peerName: 'east',
  });
  const client = source;
  dp = await runDataPlane({
    source: client,
    gatewayHost: '127.0.0.1',
    gatewayPort: 0,
    adminPort: 0,
  });
  const dataPlane = dp.dataPlane;
  await eventually(() => dataPlane.snapshotVersion !== undefined, 'the first snapshot in the data plane');
  await eventually(() => monitorTls?.cert === site.tls.cert, 'heartbeats with the original certificates');

  publish(otherTls);

  await eventually(
    () => controlPlane.snapshots.snapshot?.tls.ca === otherTls.ca,
    'the new CA in the snapshot',
  );
  expect(controlPlane.snapshots.snapshot?.tls).toEqual(otherTls);
  await eventually(
    () => client.snapshot?.tls.cert === otherTls.cert,
    'the new certificates in the data plane',
  );
  expect(dataPlane.snapshotVersion).toBe(client.snapshot?.version);
  expect(monitorTls).toEqual(otherTls);

  // The channel now authenticates with the other fabric's certificates on both ends.
  await expectLaterSnapshot('south');

  // Restored, and again later changes arrive over new connections with the original certificates.
  publish(site.tls);
  await eventually(
    () => client.snapshot?.tls.ca === site.tls.ca,
    'the original certificates in the data plane',
  );
  expect(controlPlane.snapshots.snapshot?.tls).toEqual(site.tls);
  expect(monitorTls).toEqual(site.tls);
  await expectLaterSnapshot('north');
  expect(client.connected).toBe(true);

  async function expectLaterSnapshot(peerName: string): Promise<void> {
    const before = controlPlane.snapshots.snapshot!.version;
    await create(
      site.client,
      Resources.peer,
      crd('Peer', GATEWAY_NS, peerName, { gateways: [{ host: '127.0.0.1', port: 9 }] }),
    );
    await eventually(
      () =>
        (client.snapshot?.version ?? 0) > before && client.snapshot?.peers.some((p) => p.name === peerName),
      `a snapshot with Peer ${peerName} in the data plane`,
      10_000,
    );
  }
});

it('a data plane away while the certificates changed reconnects with those of its own files', async () => {
  // Continues from the previous test: the control plane runs on the original certificates.
  const port = cp!.snapshotAddress.port;
  const withFiles = new SnapshotClient({
    host: '127.0.0.1',
    port,
    tls: site.tls,
    peerName: 'east',
    certFiles: defaultCertificateFiles(certDir),
    certCheckIntervalMs: 200,
  });
  try {
    await withFiles.waitForSnapshot();
    // The control plane restarts on other certificates; neither client saw a snapshot with them.
    await cp!.close();
    publish(otherTls);
    cp = await runControlPlane({
      kubeConfig: cluster.kubeConfig,
      certDir,
      adminPort: 0,
      snapshotHost: '127.0.0.1',
      snapshotPort: port,
      leaseRetryMs: 200,
      peerMonitor: recordingMonitor,
    });
    await eventually(
      () => withFiles.snapshot?.tls.ca === otherTls.ca,
      'a snapshot fetched with the certificates from the files',
    );
    // The client without the files still presents the old ones and is refused.
    expect(source!.snapshot?.tls.ca).toBe(site.tls.ca);
    expect(source!.connected).toBe(false);
  } finally {
    await withFiles.close();
  }
});
