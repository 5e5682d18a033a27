import { Chart, Testing } from 'cdk8s';
import { ClusterLinkCrds } from '../../../constructs';
import { Manifest, synth } from './helpers';

interface Crd extends Manifest {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[]; categories: string[] };
    versions: {
      name: string;
      subresources?: { status: object };
      additionalPrinterColumns: { name: string; jsonPath: string; priority?: number }[];
      // Walked by property names in the assertions below.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      schema: { openAPIV3Schema: Record<string, any> };
    }[];
  };
}

function crds(chart = Testing.chart()): Crd[] {
  new ClusterLinkCrds(chart, 'crds');
  return synth(chart) as Crd[];
}

function byKind(kind: string): Crd {
  const crd = crds().find((c) => c.spec.names.kind === kind);
  if (!crd) throw new Error(`no CRD for ${kind}`);
  return crd;
}

describe('ClusterLinkCrds', () => {
  test('defines the five kinds of clusterlink.net/v1alpha1 with upstream names and scopes', () => {
    const summary = crds().map((c) => [c.metadata.name, c.spec.scope, c.spec.versions.map((v) => v.name)]);
    expect(summary).toEqual([
      ['peers.clusterlink.net', 'Namespaced', ['v1alpha1']],
      ['exports.clusterlink.net', 'Namespaced', ['v1alpha1']],
      ['imports.clusterlink.net', 'Namespaced', ['v1alpha1']],
      ['accesspolicies.clusterlink.net', 'Namespaced', ['v1alpha1']],
      ['privilegedaccesspolicies.clusterlink.net', 'Cluster', ['v1alpha1']],
    ]);
  });

  test('status subresource on Peer, Export and Import only', () => {
    const withStatus = crds()
      .filter((c) => c.spec.versions[0].subresources?.status)
      .map((c) => c.spec.names.kind);
    expect(withStatus).toEqual(['Peer', 'Export', 'Import']);
  });

  test('short names and the clusterlink category', () => {
    expect(crds().map((c) => [c.spec.names.kind, c.spec.names.shortNames, c.spec.names.categories])).toEqual([
      ['Peer', ['clpeer'], ['clusterlink']],
      ['Export', ['clexport'], ['clusterlink']],
      ['Import', ['climport'], ['clusterlink']],
      ['AccessPolicy', ['clap'], ['clusterlink']],
      ['PrivilegedAccessPolicy', ['clpap'], ['clusterlink']],
    ]);
  });

  test('printer columns', () => {
    const columns = (kind: string) =>
      byKind(kind).spec.versions[0].additionalPrinterColumns.map((c) => `${c.name}=${c.jsonPath}`);
    expect(columns('Peer')).toEqual([
      'Reachable=.status.conditions[?(@.type=="PeerReachable")].status',
      'Gateways=.spec.gateways',
      'Age=.metadata.creationTimestamp',
    ]);
    expect(columns('Export')).toEqual([
      'Host=.spec.host',
      'Port=.spec.port',
      'Valid=.status.conditions[?(@.type=="ExportValid")].status',
      'Age=.metadata.creationTimestamp',
    ]);
    expect(columns('Import')).toEqual([
      'Port=.spec.port',
      'Target Port=.spec.targetPort',
      'LB Scheme=.spec.lbScheme',
      'Valid=.status.conditions[?(@.type=="ImportServiceValid")].status',
      'Port Valid=.status.conditions[?(@.type=="ImportTargetPortValid")].status',
      'Sources=.spec.sources',
      'Age=.metadata.creationTimestamp',
    ]);
    expect(columns('AccessPolicy')).toEqual(['Action=.spec.action', 'Age=.metadata.creationTimestamp']);
    expect(columns('PrivilegedAccessPolicy')).toEqual([
      'Action=.spec.action',
      'Age=.metadata.creationTimestamp',
    ]);
  });

  test('Import schema: ports, enum with default, required fields, name length rule', () => {
    const schema = byKind('Import').spec.versions[0].schema.openAPIV3Schema;
    const spec = schema.properties.spec;
    expect(spec.required).toEqual(['port', 'sources']);
    expect(spec.properties.port).toMatchObject({ type: 'integer', minimum: 1, maximum: 65535 });
    expect(spec.properties.targetPort).toMatchObject({ type: 'integer', minimum: 0, maximum: 65535 });
    expect(spec.properties.lbScheme).toMatchObject({
      enum: ['round-robin', 'random', 'static'],
      default: 'round-robin',
    });
    expect(spec.properties.sources.items.required).toEqual(['peer', 'exportName', 'exportNamespace']);
    expect(schema['x-kubernetes-validations']).toEqual([
      expect.objectContaining({ rule: 'size(self.metadata.name) <= 63' }),
    ]);
  });

  test('policy schema: action enum, exactly-one rule on from/to items, non-empty rules', () => {
    for (const kind of ['AccessPolicy', 'PrivilegedAccessPolicy']) {
      const spec = byKind(kind).spec.versions[0].schema.openAPIV3Schema.properties.spec;
      expect(spec.properties.action.enum).toEqual(['allow', 'deny']);
      expect(spec.required).toEqual(['action', 'from', 'to']);
      for (const side of ['from', 'to']) {
        expect(spec.properties[side].items['x-kubernetes-validations'][0].rule).toBe(
          'has(self.workloadSelector) != has(self.workloadSets)',
        );
      }
      expect(spec['x-kubernetes-validations'].map((v: { rule: string }) => v.rule)).toEqual([
        '!has(self.from) || size(self.from) > 0',
        '!has(self.to) || size(self.to) > 0',
      ]);
    }
  });

  test('CRDs never carry a namespace, even in a namespaced Chart', () => {
    const chart = new Chart(Testing.app(), 'namespaced', { namespace: 'apps' });
    expect(crds(chart).map((c) => c.metadata.namespace)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('snapshot', () => {
    expect(crds()).toMatchSnapshot();
  });
});
