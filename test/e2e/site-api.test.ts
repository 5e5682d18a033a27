/**
 * The API-server side of a site: the test API server runs in the root namespace, the site's
 * processes reach it from inside the site namespace through the Unix-socket bridge with the
 * kubeconfig unchanged, and only through it (cut the bridge: refused; restore: back).
 */
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createCertificateAuthority, createPeerCertificate } from '../../cli/pki/certificates';
import { resolveBinDir } from '../harness/cluster';
import { Fabric, removeStaleNamespaces } from '../harness/netns';
import { run, stopAllProcesses } from '../harness/procs';
import { GATEWAY_NAMESPACE, GATEWAY_PORT, Site } from './harness/site';

jest.setTimeout(180_000);

let fabric: Fabric;
let site: Site;
let dir: string;

beforeAll(async () => {
  await removeStaleNamespaces();
  dir = mkdtempSync(path.join(tmpdir(), 'cle2e-api-'));
  fabric = await Fabric.create({ sites: ['a'], openPorts: [GATEWAY_PORT] });
  const ca = await createCertificateAuthority({ commonName: 'e2e-fabric' });
  site = new Site({
    net: fabric.site('a'),
    peerName: 'site-a',
    certs: { ca: ca.cert, peer: await createPeerCertificate(ca, 'site-a') },
    dir,
  });
  await site.startApi();
});

afterAll(async () => {
  await site?.stop();
  await stopAllProcesses();
  await fabric?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kubectlInSite(args: string[]) {
  return run(
    path.join(resolveBinDir(), 'kubectl'),
    [`--kubeconfig=${site.cluster.kubeconfigPath}`, ...args],
    {
      netns: site.net.netns,
      timeoutMs: 30_000,
    },
  );
}

test('inside the site namespace the kubeconfig reaches the site API server, CRDs installed', async () => {
  const result = await kubectlInSite(['get', 'crd', '-o', 'name']);
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/imports.clusterlink.net');
  expect(result.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/peers.clusterlink.net');
});

test('the data-plane Pod object carries the site pod address in status.podIP', async () => {
  const pod = await site.core.readNamespacedPod({ namespace: GATEWAY_NAMESPACE, name: 'cl-dataplane-0' });
  expect(pod.status).toMatchObject({ phase: 'Running', podIP: site.dataPlaneAddress });
  expect(pod.metadata?.labels).toMatchObject({ 'app.kubernetes.io/name': 'cl-dataplane' });
});

test('cutting the bridge takes the API server away from the site only; restoring brings it back', async () => {
  await site.pauseApiBridge();
  const cut = await kubectlInSite(['get', 'ns', '--request-timeout=3s']);
  expect(cut.code).not.toBe(0);
  expect(cut.stderr).toMatch(/refused/);
  // The root namespace still has it.
  expect((await site.core.readNamespace({ name: GATEWAY_NAMESPACE })).metadata?.name).toBe(GATEWAY_NAMESPACE);
  await site.resumeApiBridge();
  expect((await kubectlInSite(['get', 'ns', GATEWAY_NAMESPACE, '-o', 'name'])).stdout.trim()).toBe(
    `namespace/${GATEWAY_NAMESPACE}`,
  );
});

test('certificates are swapped atomically through a ..data symlink, like a mounted Secret', async () => {
  const before = readFileSync(path.join(site.certDir, 'cert.pem'), 'utf8');
  const ca = await createCertificateAuthority({ commonName: 'other' });
  site.writeCerts(ca.cert, await createPeerCertificate(ca, 'site-a'));
  expect(readlinkSync(path.join(site.certDir, 'cert.pem'))).toBe(path.join('..data', 'cert.pem'));
  expect(readFileSync(path.join(site.certDir, 'ca.pem'), 'utf8')).toBe(ca.cert);
  expect(site.hasOriginalCerts()).toBe(false);
  expect(site.restoreCerts()).toBe(true);
  expect(readFileSync(path.join(site.certDir, 'cert.pem'), 'utf8')).toBe(before);
  expect(site.hasOriginalCerts()).toBe(true);
});
