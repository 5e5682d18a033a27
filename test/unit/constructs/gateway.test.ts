import { Chart, Testing } from 'cdk8s';
import {
  CLUSTERLINK_VERSION,
  ClusterLinkGateway,
  ClusterLinkGatewayProps,
  DEFAULT_IMAGE,
} from '../../../constructs';
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';
import { Manifest, find, kinds, synth } from './helpers';

function gateway(props: ClusterLinkGatewayProps = {}, chart: Chart = Testing.chart()): Manifest[] {
  new ClusterLinkGateway(chart, 'gateway', props);
  return synth(chart);
}

type PodSpec = {
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  securityContext: Record<string, unknown>;
  volumes: { name: string; projected: { sources: { secret: { name: string } }[] } }[];
  containers: {
    args: string[];
    image: string;
    env: { name: string; value?: string }[];
    ports: { name: string; containerPort: number }[];
    readinessProbe: { httpGet: { path: string; port: string } };
    livenessProbe: { httpGet: { path: string; port: string }; initialDelaySeconds?: number };
    startupProbe: {
      httpGet: { path: string; port: string };
      periodSeconds: number;
      failureThreshold: number;
    };
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    securityContext: Record<string, unknown>;
    volumeMounts: { mountPath: string }[];
  }[];
};

function podSpec(manifests: Manifest[], name: string): PodSpec {
  return (find(manifests, 'Deployment', name) as unknown as { spec: { template: { spec: PodSpec } } }).spec
    .template.spec;
}

function env(spec: PodSpec): Record<string, string | undefined> {
  return Object.fromEntries(spec.containers[0].env.map((e) => [e.name, e.value]));
}

describe('ClusterLinkGateway', () => {
  test('default install: objects and names of the deployment conventions', () => {
    expect(kinds(gateway())).toEqual([
      'Namespace/clusterlink-system',
      'ServiceAccount/clusterlink-system/cl-controlplane',
      'ClusterRole/cl-controlplane-clusterlink-system',
      'ClusterRoleBinding/cl-controlplane-clusterlink-system',
      'Role/clusterlink-system/cl-controlplane',
      'RoleBinding/clusterlink-system/cl-controlplane',
      'ServiceAccount/clusterlink-system/cl-dataplane',
      'Deployment/clusterlink-system/cl-controlplane',
      'Service/clusterlink-system/cl-controlplane',
      'Deployment/clusterlink-system/cl-dataplane',
      'Service/clusterlink-system/cl-dataplane',
    ]);
  });

  test('RBAC is exactly what the control plane reads and writes', () => {
    const manifests = gateway();
    expect(find(manifests, 'ClusterRole').rules).toEqual([
      {
        apiGroups: ['clusterlink.net'],
        resources: ['peers', 'exports', 'imports', 'accesspolicies', 'privilegedaccesspolicies'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        apiGroups: ['clusterlink.net'],
        resources: ['peers/status', 'exports/status', 'imports/status'],
        verbs: ['update', 'patch'],
      },
      { apiGroups: ['clusterlink.net'], resources: ['imports'], verbs: ['update', 'patch'] },
      {
        apiGroups: [''],
        resources: ['services'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
      {
        apiGroups: ['discovery.k8s.io'],
        resources: ['endpointslices'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    expect(find(manifests, 'Role').rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] },
    ]);
    const subjects = [{ kind: 'ServiceAccount', name: 'cl-controlplane', namespace: 'clusterlink-system' }];
    expect(find(manifests, 'ClusterRoleBinding').subjects).toEqual(subjects);
    expect(find(manifests, 'RoleBinding').subjects).toEqual(subjects);
    // Nothing else is granted: no wildcard anywhere.
    expect(JSON.stringify(manifests.filter((m) => /Role$/.test(m.kind)))).not.toContain('*');
  });

  test('control plane: token mounted, leader-elected replicas, probes on 9090, non-root', () => {
    const manifests = gateway({ controlPlane: { replicas: 3 }, peerLabels: { region: 'eu', tier: 'gold' } });
    const deployment = find(manifests, 'Deployment', 'cl-controlplane') as unknown as {
      spec: { replicas: number; template: { metadata: { labels: Record<string, string> } } };
    };
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.template.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'cl-controlplane',
      'app.kubernetes.io/part-of': 'clusterlink',
    });
    const spec = podSpec(manifests, 'cl-controlplane');
    expect(spec.serviceAccountName).toBe('cl-controlplane');
    expect(spec.automountServiceAccountToken).toBe(true);
    expect(spec.containers[0].args).toEqual(['controlplane']);
    expect(env(spec)).toMatchObject({
      CL_CERT_DIR: '/etc/clusterlink',
      CL_LOG_LEVEL: 'info',
      CL_ADMIN_PORT: '9090',
      CL_PEER_LABELS: 'region=eu,tier=gold',
    });
    expect(spec.containers[0].ports).toEqual([
      { name: 'snapshots', containerPort: 9444, protocol: 'TCP' },
      { name: 'admin', containerPort: 9090, protocol: 'TCP' },
    ]);
    expect(spec.containers[0].readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(spec.containers[0].livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    // Liveness waits for start-up, however long it takes on a busy node (up to 3 minutes).
    expect(spec.containers[0].livenessProbe.initialDelaySeconds).toBeUndefined();
    const startup = spec.containers[0].startupProbe;
    expect(startup.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(startup.periodSeconds * startup.failureThreshold).toBe(180);
    expect(spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(find(manifests, 'Service', 'cl-controlplane').spec).toMatchObject({
      type: 'ClusterIP',
      ports: [{ name: 'snapshots', port: 9444, targetPort: 'snapshots', protocol: 'TCP' }],
    });
  });

  test('data plane: no API token, snapshot address, gateway port 8443 behind Service port 443', () => {
    const manifests = gateway({ dataPlane: { replicas: 4 }, namespace: 'cl', logLevel: 'debug' });
    const spec = podSpec(manifests, 'cl-dataplane');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.containers[0].args).toEqual(['dataplane']);
    expect(env(spec)).toMatchObject({
      CL_CONTROLPLANE: 'cl-controlplane.cl.svc:9444',
      CL_GATEWAY_PORT: '8443',
      CL_LOG_LEVEL: 'debug',
    });
    expect((find(manifests, 'Deployment', 'cl-dataplane').spec as { replicas: number }).replicas).toBe(4);
    expect(find(manifests, 'Service', 'cl-dataplane').spec).toEqual({
      type: 'LoadBalancer',
      selector: { 'app.kubernetes.io/name': 'cl-dataplane', 'app.kubernetes.io/part-of': 'clusterlink' },
      ports: [{ name: 'gateway', port: 443, targetPort: 'gateway', protocol: 'TCP' }],
    });
  });

  test('certificates from the Secrets cl-fabric and cl-peer at /etc/clusterlink by default', () => {
    const manifests = gateway();
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    for (const name of ['cl-controlplane', 'cl-dataplane']) {
      const spec = podSpec(manifests, name);
      expect(spec.volumes[0].projected.sources.map((s) => s.secret.name)).toEqual(['cl-fabric', 'cl-peer']);
      expect(spec.containers[0].volumeMounts).toEqual([
        { name: 'certificates', mountPath: '/etc/clusterlink', readOnly: true },
      ]);
    }
  });

  test('certificates from PEM strings create the Secrets', async () => {
    const ca = await createCertificateAuthority({ commonName: 'fabric' });
    const peer = await createPeerCertificate(ca, 'east');
    const manifests = gateway({
      certificates: { caPem: ca.cert, certPem: peer.cert, keyPem: peer.key, peerSecretName: 'east-peer' },
    });
    expect(find(manifests, 'Secret', 'cl-fabric').stringData).toEqual({ 'ca.pem': ca.cert });
    expect(find(manifests, 'Secret', 'east-peer').stringData).toEqual({
      'cert.pem': peer.cert,
      'key.pem': peer.key,
    });
    expect(podSpec(manifests, 'cl-dataplane').volumes[0].projected.sources.map((s) => s.secret.name)).toEqual(
      ['cl-fabric', 'east-peer'],
    );
  });

  test('NodePort service with a fixed port and annotations', () => {
    const manifests = gateway({
      service: {
        type: 'NodePort',
        port: 8443,
        nodePort: 30443,
        annotations: { 'example.com/lb': 'internal' },
      },
    });
    const service = find(manifests, 'Service', 'cl-dataplane');
    expect(service.metadata.annotations).toEqual({ 'example.com/lb': 'internal' });
    expect(service.spec).toMatchObject({
      type: 'NodePort',
      ports: [{ name: 'gateway', port: 8443, targetPort: 'gateway', nodePort: 30443, protocol: 'TCP' }],
    });
  });

  test('resources: defaults and overrides', () => {
    const manifests = gateway({
      dataPlane: { resources: { cpuRequest: '1', cpuLimit: '2', memoryLimit: '2Gi' } },
    });
    expect(podSpec(manifests, 'cl-controlplane').containers[0].resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '512Mi' },
    });
    expect(podSpec(manifests, 'cl-dataplane').containers[0].resources).toEqual({
      requests: { cpu: '1', memory: '128Mi' },
      limits: { cpu: '2', memory: '2Gi' },
    });
  });

  test('in a namespaced Chart: namespaced objects follow it, cluster-scoped ones stay without namespace', () => {
    const chart = new Chart(Testing.app(), 'site', { namespace: 'edge-gw' });
    const manifests = gateway({}, chart);
    expect(find(manifests, 'Deployment', 'cl-dataplane').metadata.namespace).toBe('edge-gw');
    expect(find(manifests, 'Namespace').metadata).toEqual(expect.objectContaining({ name: 'edge-gw' }));
    for (const kind of ['Namespace', 'ClusterRole', 'ClusterRoleBinding']) {
      expect(find(manifests, kind).metadata.namespace).toBeUndefined();
    }
  });

  test.each<[string, ClusterLinkGatewayProps, RegExp]>([
    ['bad namespace', { namespace: 'Cluster_Link' }, /namespace "Cluster_Link" must be a DNS label/],
    [
      'log level',
      { logLevel: 'loud' as never },
      /logLevel "loud" is unknown; use one of fatal, error, warn, info, debug, trace, silent/,
    ],
    ['replicas', { dataPlane: { replicas: 1.5 } }, /dataPlane.replicas is 1.5; use a whole number/],
    ['service port', { service: { port: 70000 } }, /service.port is 70000; use an integer from 1 to 65535/],
    [
      'node port range',
      { service: { type: 'NodePort', nodePort: 443 } },
      /nodePort is 443; use a port from 30000 to 32767/,
    ],
    [
      'node port on ClusterIP',
      { service: { type: 'ClusterIP', nodePort: 30443 } },
      /nodePort needs service.type NodePort or LoadBalancer/,
    ],
    [
      'cert without key',
      { certificates: { certPem: '-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----' } },
      /give certPem and keyPem together/,
    ],
    ['not a PEM', { certificates: { caPem: 'hello' } }, /caPem is not a PEM certificate/],
    ['peer label', { peerLabels: { 'bad key!': 'x' } }, /peerLabels key "bad key!" is not a valid label key/],
    [
      'quantity',
      { controlPlane: { resources: { memoryLimit: 'lots' } } },
      /controlPlane.resources.memoryLimit "lots" is not a Kubernetes quantity/,
    ],
  ])('refused at synth: %s', (_name, props, message) => {
    expect(() => gateway(props)).toThrow(message);
  });

  test('snapshot: default install', () => {
    expect(gateway()).toMatchSnapshot();
  });
});

test('the default image tag is the package version', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require('../../../package.json') as { version: string };
  expect(CLUSTERLINK_VERSION).toBe(version);
  expect(DEFAULT_IMAGE).toBe(`ghcr.io/clusterlink-ts/clusterlink:${version}`);
});
