/**
 * What the constructs synthesize is accepted by a real API server: a Fabric site's install chart
 * (CRDs, gateway with Secrets made from real PEM certificates) and its resource chart, applied with
 * server-side apply, read back unchanged.
 */
import { App, Testing, Yaml } from 'cdk8s';
import { createCertificateAuthority, createPeerCertificate } from '../../cli/pki/certificates';
import { Fabric } from '../../constructs';
import { readCrds, waitForCrdsEstablished } from '../harness/crds';
import { useTestCluster } from '../harness/cluster';
import { kubectl, kubectlOk } from '../harness/kubectl';

jest.setTimeout(120_000);

const cluster = useTestCluster({ name: 'crds-fabric' });

async function apply(objects: unknown[]): Promise<void> {
  const result = await kubectl(
    cluster(),
    ['apply', '--server-side', '--field-manager=fabric-test', '-f', '-'],
    {
      input: Yaml.stringify(...objects),
    },
  );
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
}

test('a Fabric site installs and its Peers, Exports, Imports and policies are stored', async () => {
  const ca = await createCertificateAuthority({ commonName: 'fabric' });
  const east = await createPeerCertificate(ca, 'east');
  const app: App = Testing.app();
  const fabric = new Fabric(app, 'shop', {
    sites: [
      { name: 'east', gateway: '192.0.2.10:30443', labels: { region: 'us-east' } },
      { name: 'west', gateway: '198.51.100.20:30443' },
      { name: 'edge', gateway: 'edge.example.com' },
    ],
    services: [
      { name: 'reviews', port: 9080, exportedBy: 'west', lbScheme: 'static' },
      {
        name: 'ratings',
        namespace: 'kube-public',
        port: 9080,
        exportedBy: ['edge', 'west'],
        importedBy: ['east'],
        allowedClients: { namespaces: ['kube-public'], labels: { app: 'productpage' } },
      },
    ],
    install: {
      service: { type: 'NodePort', nodePort: 30443 },
      controlPlane: { replicas: 2 },
    },
  });
  const site = fabric.site('east');
  const install = site.installChart!.toJson();
  // The east site gets its own certificates from PEM text.
  const withCerts = new Fabric(Testing.app(), 'shop', {
    sites: [{ name: 'east', gateway: '192.0.2.10' }],
    install: { certificates: { caPem: ca.cert, certPem: east.cert, keyPem: east.key } },
  });
  const secrets = withCerts
    .site('east')
    .installChart!.toJson()
    .filter((o: { kind: string }) => o.kind === 'Secret');
  expect(secrets).toHaveLength(2);

  await apply(install.filter((o: { kind: string }) => o.kind === 'CustomResourceDefinition'));
  await waitForCrdsEstablished(
    cluster().kubeConfig,
    readCrds().map((crd) => crd.metadata!.name!),
  );
  await apply([
    ...install.filter((o: { kind: string }) => o.kind !== 'CustomResourceDefinition'),
    ...secrets,
  ]);
  await apply(site.chart.toJson());

  const names = (await kubectlOk(cluster(), ['get', 'clusterlink', '-A', '-o', 'name']))
    .trim()
    .split('\n')
    .sort();
  expect(names).toEqual([
    'accesspolicy.clusterlink.net/fabric-allow-ratings',
    'accesspolicy.clusterlink.net/fabric-allow-reviews',
    'import.clusterlink.net/ratings',
    'import.clusterlink.net/reviews',
    'peer.clusterlink.net/edge',
    'peer.clusterlink.net/west',
  ]);
  const ratings = JSON.parse(
    await kubectlOk(cluster(), [
      'get',
      'import.clusterlink.net',
      'ratings',
      '-n',
      'kube-public',
      '-o',
      'json',
    ]),
  ) as { spec: unknown };
  expect(ratings.spec).toEqual({
    port: 9080,
    lbScheme: 'round-robin',
    sources: [
      { peer: 'edge', exportName: 'ratings', exportNamespace: 'kube-public' },
      { peer: 'west', exportName: 'ratings', exportNamespace: 'kube-public' },
    ],
  });
  const secret = JSON.parse(
    await kubectlOk(cluster(), ['get', 'secret', 'cl-peer', '-n', 'clusterlink-system', '-o', 'json']),
  ) as { data: Record<string, string> };
  expect(Buffer.from(secret.data['cert.pem'], 'base64').toString()).toBe(east.cert);
  const deployment = JSON.parse(
    await kubectlOk(cluster(), [
      'get',
      'deployment',
      'cl-controlplane',
      '-n',
      'clusterlink-system',
      '-o',
      'json',
    ]),
  ) as { spec: { replicas: number } };
  expect(deployment.spec.replicas).toBe(2);
});
