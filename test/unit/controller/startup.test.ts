/** runControlPlane refuses to start cleanly when its ports are taken, and stops what it started. */
import * as http from 'node:http';
import * as net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';
import { runControlPlane } from '../../../controller/main';

jest.setTimeout(30_000);

function unreachableCluster(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

describe('runControlPlane start-up', () => {
  it('rejects with EADDRINUSE when the snapshot port is taken, and can start afterwards', async () => {
    const ca = await createCertificateAuthority({ commonName: 'fabric' });
    const peer = await createPeerCertificate(ca, 'east');
    const tls = { ca: ca.cert, ...peer };
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const noPeers = () => ({ setPeers: () => undefined, verdict: () => undefined, close: () => undefined });
    await expect(
      runControlPlane({
        kubeConfig: unreachableCluster(),
        tls,
        adminPort: 0,
        snapshotHost: '127.0.0.1',
        snapshotPort: taken,
        peerMonitor: noPeers,
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await new Promise((r) => blocker.close(r));

    // The API server is unreachable: the process still starts (informers retry) but is not ready.
    const cp = await runControlPlane({
      kubeConfig: unreachableCluster(),
      tls,
      adminPort: 0,
      snapshotHost: '127.0.0.1',
      snapshotPort: taken,
      peerMonitor: noPeers,
    });
    expect(cp.peerName).toBe('east');
    expect(cp.snapshots.snapshot).toBeUndefined();
    const ready = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: cp.adminAddress.port, path: '/readyz' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(ready).toBe(503);
    await cp.close();
  });

  it('refuses a certificate without a DNS name', async () => {
    const ca = await createCertificateAuthority({ commonName: 'fabric' });
    await expect(
      runControlPlane({ kubeConfig: unreachableCluster(), tls: { ca: ca.cert, cert: ca.cert, key: ca.key } }),
    ).rejects.toMatchObject({ code: 'CL_ERR_BAD_CERTIFICATE' });
  });
});
