import { Chart, Testing } from 'cdk8s';
import { AccessPolicy, Export, Import, Peer, PrivilegedAccessPolicy, Workloads } from '../../../constructs';
import { find, synth } from './helpers';

describe('typed resource constructs', () => {
  test('Peer with two gateways; port defaults to 443; namespace defaults to the gateway namespace', () => {
    const chart = Testing.chart();
    new Peer(chart, 'east', {
      name: 'east',
      gateways: [{ host: '10.0.0.1', port: 30443 }, { host: 'east.example.com' }],
    });
    expect(synth(chart)).toEqual([
      {
        apiVersion: 'clusterlink.net/v1alpha1',
        kind: 'Peer',
        metadata: { name: 'east', namespace: 'clusterlink-system' },
        spec: {
          gateways: [
            { host: '10.0.0.1', port: 30443 },
            { host: 'east.example.com', port: 443 },
          ],
        },
      },
    ]);
  });

  test('Export with and without host; namespace from the Chart', () => {
    const chart = new Chart(Testing.app(), 'apps', { namespace: 'shop' });
    new Export(chart, 'svc', { name: 'reviews', port: 9080 });
    new Export(chart, 'db', {
      name: 'db',
      host: 'db.internal.example.com',
      port: 5432,
      labels: { tier: 'data' },
    });
    const manifests = synth(chart);
    expect(find(manifests, 'Export', 'reviews')).toEqual({
      apiVersion: 'clusterlink.net/v1alpha1',
      kind: 'Export',
      metadata: { name: 'reviews', namespace: 'shop' },
      spec: { port: 9080 },
    });
    expect(find(manifests, 'Export', 'db').spec).toEqual({ host: 'db.internal.example.com', port: 5432 });
    expect(find(manifests, 'Export', 'db').metadata.labels).toEqual({ tier: 'data' });
  });

  test('Import: two sources, static scheme, defaults for export name and namespace, merge label', () => {
    const chart = Testing.chart();
    new Import(chart, 'reviews', {
      name: 'reviews',
      namespace: 'default',
      port: 9080,
      lbScheme: 'static',
      merge: true,
      sources: [{ peer: 'server1' }, { peer: 'server2', exportName: 'reviews-v2', exportNamespace: 'prod' }],
    });
    expect(synth(chart)).toEqual([
      {
        apiVersion: 'clusterlink.net/v1alpha1',
        kind: 'Import',
        metadata: {
          name: 'reviews',
          namespace: 'default',
          labels: { 'import.clusterlink.net/merge': 'true' },
        },
        spec: {
          port: 9080,
          lbScheme: 'static',
          sources: [
            { peer: 'server1', exportName: 'reviews', exportNamespace: 'default' },
            { peer: 'server2', exportName: 'reviews-v2', exportNamespace: 'prod' },
          ],
        },
      },
    ]);
  });

  test('AccessPolicy with matchExpressions (In, NotIn, Exists) and Workloads helpers', () => {
    const chart = Testing.chart();
    new AccessPolicy(chart, 'p', {
      name: 'allow-frontends',
      namespace: 'default',
      action: 'allow',
      from: [
        Workloads.select({
          matchExpressions: [
            { key: 'peer.clusterlink.net/name', operator: 'In', values: ['east', 'west'] },
            { key: 'client.clusterlink.net/namespace', operator: 'NotIn', values: ['kube-system'] },
            { key: 'client.clusterlink.net/labels.app', operator: 'Exists' },
          ],
        }),
      ],
      to: [Workloads.exports('reviews')],
    });
    expect(find(synth(chart), 'AccessPolicy').spec).toEqual({
      action: 'allow',
      from: [
        {
          workloadSelector: {
            matchExpressions: [
              { key: 'peer.clusterlink.net/name', operator: 'In', values: ['east', 'west'] },
              { key: 'client.clusterlink.net/namespace', operator: 'NotIn', values: ['kube-system'] },
              { key: 'client.clusterlink.net/labels.app', operator: 'Exists' },
            ],
          },
        },
      ],
      to: [
        {
          workloadSelector: {
            matchExpressions: [{ key: 'export.clusterlink.net/name', operator: 'In', values: ['reviews'] }],
          },
        },
      ],
    });
  });

  test('PrivilegedAccessPolicy denying by peer name is cluster-scoped even in a namespaced Chart', () => {
    const chart = new Chart(Testing.app(), 'apps', { namespace: 'shop' });
    new PrivilegedAccessPolicy(chart, 'deny', {
      name: 'deny-from-server1',
      action: 'deny',
      from: [Workloads.onPeers('server1')],
      to: [Workloads.all()],
    });
    const policy = find(synth(chart), 'PrivilegedAccessPolicy');
    expect(policy.metadata).toEqual({ name: 'deny-from-server1' });
    expect(policy.spec).toEqual({
      action: 'deny',
      from: [
        {
          workloadSelector: {
            matchExpressions: [{ key: 'peer.clusterlink.net/name', operator: 'In', values: ['server1'] }],
          },
        },
      ],
      to: [{ workloadSelector: {} }],
    });
  });

  const refused: [string, (chart: Chart) => void, RegExp][] = [
    [
      'Peer without gateways',
      (c) => new Peer(c, 'p', { name: 'east', gateways: [] }),
      /Peer "east" has no gateways/,
    ],
    [
      'Peer port',
      (c) => new Peer(c, 'p', { name: 'east', gateways: [{ host: 'h', port: 70000 }] }),
      /gateways\[0\].port is 70000/,
    ],
    [
      'Peer name',
      (c) => new Peer(c, 'p', { name: 'East_1', gateways: [{ host: 'h' }] }),
      /Peer name "East_1" must be a DNS label/,
    ],
    [
      'Import name of 64 characters',
      (c) =>
        new Import(c, 'i', {
          name: 'a'.repeat(64),
          namespace: 'default',
          port: 80,
          sources: [{ peer: 'east' }],
        }),
      /Import name \(it becomes a Service name\) "a{64}" must be usable as a Service name: at most 63/,
    ],
    [
      'Import lbScheme',
      (c) =>
        new Import(c, 'i', {
          name: 'x',
          namespace: 'default',
          port: 80,
          lbScheme: 'weighted' as never,
          sources: [{ peer: 'e' }],
        }),
      /lbScheme "weighted" is unknown; use one of round-robin, random, static/,
    ],
    [
      'Import without sources',
      (c) => new Import(c, 'i', { name: 'x', namespace: 'default', port: 80, sources: [] }),
      /Import "x" has no sources/,
    ],
    [
      'Import without any namespace for its sources',
      (c) => new Import(c, 'i', { name: 'x', port: 80, sources: [{ peer: 'e' }] }),
      /sources\[0\] has no exportNamespace and the Import has no namespace/,
    ],
    [
      'Export port',
      (c) => new Export(c, 'e', { name: 'x', port: 0 }),
      /Export "x" port is 0; use an integer from 1 to 65535/,
    ],
    [
      'policy action permit',
      (c) =>
        new AccessPolicy(c, 'a', {
          action: 'permit' as never,
          from: [Workloads.all()],
          to: [Workloads.all()],
        }),
      /action "permit" is unknown; use allow or deny/,
    ],
    [
      'policy item with both fields',
      (c) =>
        new AccessPolicy(c, 'a', {
          action: 'allow',
          from: [{ workloadSelector: {}, workloadSets: ['x'] }],
          to: [Workloads.all()],
        }),
      /from\[0\] must set exactly one of workloadSelector or workloadSets/,
    ],
    [
      'policy item with neither field',
      (c) => new AccessPolicy(c, 'a', { action: 'allow', from: [Workloads.all()], to: [{}] }),
      /to\[0\] must set exactly one of workloadSelector or workloadSets/,
    ],
    [
      'policy with empty from',
      (c) => new PrivilegedAccessPolicy(c, 'a', { action: 'deny', from: [], to: [Workloads.all()] }),
      /from is empty; list at least one item/,
    ],
    [
      'In without values',
      (c) =>
        new AccessPolicy(c, 'a', {
          action: 'allow',
          from: [Workloads.select({ matchExpressions: [{ key: 'k', operator: 'In' }] })],
          to: [Workloads.all()],
        }),
      /operator In needs at least one value/,
    ],
  ];
  test.each(refused)('refused at synth: %s', (_name, build, message) => {
    const chart = Testing.chart();
    build(chart);
    expect(() => synth(chart)).toThrow(message);
  });

  test('snapshot: one of each kind', () => {
    const chart = new Chart(Testing.app(), 'all', { namespace: 'default' });
    new Peer(chart, 'peer', { name: 'west', gateways: [{ host: '198.51.100.20' }] });
    new Export(chart, 'export', { name: 'reviews', port: 9080 });
    new Import(chart, 'import', { name: 'ratings', port: 9080, sources: [{ peer: 'west' }] });
    new AccessPolicy(chart, 'policy', {
      name: 'allow-all',
      action: 'allow',
      from: [Workloads.all()],
      to: [Workloads.all()],
    });
    new PrivilegedAccessPolicy(chart, 'privileged', {
      name: 'deny-untrusted',
      action: 'deny',
      from: [Workloads.withAttributes({ 'peer.clusterlink.net/labels.trust': 'none' })],
      to: [Workloads.all()],
    });
    expect(synth(chart)).toMatchSnapshot();
  });
});
