import {
  buildSnapshotContent,
  clientsFromPods,
  type SnapshotInputs,
} from '../../../controller/snapshot/builder';
import { SnapshotPublisher } from '../../../controller/snapshot/publisher';
import type { Pod, Service } from '../../../controller/k8s/core';
import type { Export, Import, Peer } from '../../../imports/clusterlink.net.types';

const meta = (name: string, namespace?: string, extra: object = {}) => ({ name, namespace, ...extra });

function inputs(over: Partial<SnapshotInputs> = {}): SnapshotInputs {
  const peers: Peer[] = [
    {
      apiVersion: 'clusterlink.net/v1alpha1',
      kind: 'Peer',
      metadata: meta('west', 'clusterlink-system'),
      spec: { gateways: [{ host: '10.1.0.1', port: 443 }] },
    },
    {
      apiVersion: 'clusterlink.net/v1alpha1',
      kind: 'Peer',
      metadata: meta('north', 'clusterlink-system'),
      spec: { gateways: [{ host: 'north.example', port: 443 }] },
      status: {
        labels: { region: 'n' },
        conditions: [
          {
            type: 'PeerReachable',
            status: 'True',
            reason: 'HeartbeatSucceeded',
            message: '',
            lastTransitionTime: 't',
          },
        ],
      },
    },
  ];
  const exports: Export[] = [
    {
      apiVersion: 'clusterlink.net/v1alpha1',
      kind: 'Export',
      metadata: meta('echo', 'apps', { labels: { tier: 'web' } }),
      spec: {},
    },
    { apiVersion: 'clusterlink.net/v1alpha1', kind: 'Export', metadata: meta('gone', 'apps'), spec: {} },
    {
      apiVersion: 'clusterlink.net/v1alpha1',
      kind: 'Export',
      metadata: meta('ext', 'apps'),
      spec: { host: 'db.example', port: 5432 },
    },
  ];
  const services: Record<string, Service> = {
    'apps/echo': { metadata: meta('echo', 'apps'), spec: { ports: [{ port: 8080 }] } },
  };
  const imp = (name: string, targetPort: number | undefined, created: string): Import => ({
    apiVersion: 'clusterlink.net/v1alpha1',
    kind: 'Import',
    metadata: meta(name, 'apps', { creationTimestamp: created }),
    spec: { port: 80, targetPort, sources: [{ peer: 'west', exportName: 'echo', exportNamespace: 'apps' }] },
  });
  return {
    localPeer: { name: 'east', labels: { env: 'test' } },
    tls: { ca: 'CA', cert: 'CERT', key: 'KEY' },
    tokenKey: 'a2V5',
    peers,
    verdict: (p) =>
      p === 'west'
        ? { reachable: false, reason: 'TCPFailure', message: 'refused', labels: { region: 'w' } }
        : undefined,
    exports,
    service: (k) => services[k],
    imports: [
      imp('b', 20001, '2024-01-01'),
      imp('a', 20001, '2024-01-02'),
      imp('pending', undefined, '2024-01-01'),
      imp('c', 20002, '2024-01-03'),
    ],
    policies: [
      {
        name: 'z',
        namespace: 'apps',
        spec: { action: 'allow', from: [{ workloadSelector: {} }], to: [{ workloadSelector: {} }] },
      },
      {
        name: 'priv',
        spec: { action: 'deny', from: [{ workloadSelector: {} }], to: [{ workloadSelector: {} }] },
      },
    ],
    pods: [],
    reservedPorts: new Set([8443]),
    ...over,
  };
}

describe('buildSnapshotContent', () => {
  const s = buildSnapshotContent(inputs());

  it('resolves exports to the Service DNS name or spec.host and leaves invalid ones out', () => {
    expect(s.exports).toEqual([
      {
        name: 'echo',
        namespace: 'apps',
        host: 'echo.apps.svc.cluster.local',
        port: 8080,
        labels: { tier: 'web' },
      },
      { name: 'ext', namespace: 'apps', host: 'db.example', port: 5432, labels: {} },
    ]);
  });

  it('serves imports on their target port at 0.0.0.0, leaving out unallocated and conflicting ones', () => {
    expect(s.imports.map((i) => [i.name, i.listenHost, i.listenPort, i.lbScheme])).toEqual([
      ['b', '0.0.0.0', 20001, 'round-robin'],
      ['c', '0.0.0.0', 20002, 'round-robin'],
    ]);
  });

  it('takes reachability and labels from the heartbeat verdict, else from the Peer status', () => {
    expect(s.peers).toEqual([
      {
        name: 'north',
        gateways: [{ host: 'north.example', port: 443 }],
        reachable: true,
        labels: { region: 'n' },
      },
      {
        name: 'west',
        gateways: [{ host: '10.1.0.1', port: 443 }],
        reachable: false,
        labels: { region: 'w' },
      },
    ]);
  });

  it('orders policies deterministically and carries identity and token key', () => {
    expect(s.policies.map((p) => p.name)).toEqual(['priv', 'z']);
    expect(s.localPeer).toEqual({ name: 'east', labels: { env: 'test' } });
    expect(s.tokenKey).toBe('a2V5');
    expect(s.schema).toBe(1);
  });

  it('is a pure function of its inputs', () => {
    expect(JSON.stringify(buildSnapshotContent(inputs()))).toBe(JSON.stringify(s));
  });
});

describe('clientsFromPods', () => {
  const pod = (name: string, ns: string, ip: string | undefined, extra: Partial<Pod> = {}): Pod => ({
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: { serviceAccountName: `${name}-sa` },
    status: { phase: 'Running', podIP: ip },
    ...extra,
  });
  it('maps each pod IP to namespace, service account and labels', () => {
    expect(clientsFromPods([pod('web', 'shop', '10.0.0.5'), pod('none', 'shop', undefined)])).toEqual([
      { ip: '10.0.0.5', namespace: 'shop', serviceAccount: 'web-sa', labels: { app: 'web' } },
    ]);
  });
  it('skips host-network and finished pods, defaults the service account', () => {
    const clients = clientsFromPods([
      pod('host', 'kube-system', '192.168.0.1', { spec: { hostNetwork: true } }),
      pod('done', 'shop', '10.0.0.6', { status: { phase: 'Succeeded', podIP: '10.0.0.6' } }),
      pod('sa', 'shop', '10.0.0.7', { spec: {} }),
    ]);
    expect(clients).toEqual([
      { ip: '10.0.0.7', namespace: 'shop', serviceAccount: 'default', labels: { app: 'sa' } },
    ]);
  });
  it('indexes every IP of a dual-stack pod', () => {
    const p = pod('dual', 'shop', '10.0.0.8', {
      status: { phase: 'Running', podIP: '10.0.0.8', podIPs: [{ ip: '10.0.0.8' }, { ip: 'fd00::8' }] },
    });
    expect(clientsFromPods([p]).map((c) => c.ip)).toEqual(['10.0.0.8', 'fd00::8']);
  });
});

describe('SnapshotPublisher', () => {
  it('publishes a new version only when the content changes, versions growing', () => {
    let now = 1000;
    const pub = new SnapshotPublisher({ now: () => now });
    const seen: number[] = [];
    const content = buildSnapshotContent(inputs());
    const first = pub.publish(content);
    pub.subscribe((s) => seen.push(s.version));
    expect(pub.publish(buildSnapshotContent(inputs()))).toBe(first);
    now = 500; // the wall clock went backwards: versions still grow
    const second = pub.publish({ ...content, tokenKey: 'b3RoZXI=' });
    expect(second.version).toBe(1001);
    expect(seen).toEqual([1000, 1001]);
  });

  it('stamps every snapshot with its own origin, one per publisher', () => {
    const content = buildSnapshotContent(inputs());
    const a = new SnapshotPublisher();
    const b = new SnapshotPublisher();
    expect(a.origin).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(b.origin).not.toBe(a.origin);
    const first = a.publish(content);
    const second = a.publish({ ...content, tokenKey: 'b3RoZXI=' });
    expect([first.origin, second.origin]).toEqual([a.origin, a.origin]);
    expect(second.version).toBeGreaterThan(first.version);
    expect(b.publish(content).origin).toBe(b.origin);
  });

  it('takes an injected origin and refuses a malformed one', () => {
    expect(
      new SnapshotPublisher({ origin: 'replica-a' }).publish(buildSnapshotContent(inputs())).origin,
    ).toBe('replica-a');
    expect(() => new SnapshotPublisher({ origin: 'has space' })).toThrow('malformed');
  });
});
