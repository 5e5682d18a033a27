import { Testing } from 'cdk8s';
import { Fabric, FabricProps, parseGatewayAddress } from '../../../constructs';
import { Manifest, find, kinds, synth } from './helpers';

function fabric(props: FabricProps): { fabric: Fabric; site: (name: string) => Manifest[] } {
  const app = Testing.app();
  const built = new Fabric(app, 'fabric', props);
  return { fabric: built, site: (name) => synth(built.site(name).chart) };
}

const threeSites: FabricProps = {
  sites: [
    { name: 'east', gateway: '192.0.2.10:30443', labels: { region: 'us-east' } },
    { name: 'west', gateway: ['198.51.100.20', { host: 'west-backup.example.com', port: 8443 }] },
    { name: 'edge', gateway: { host: 'edge.example.com' } },
  ],
  services: [
    { name: 'reviews', port: 9080, exportedBy: ['east', 'west'], importedBy: ['edge'], lbScheme: 'static' },
  ],
};

describe('Fabric', () => {
  test('one chart per site with exactly the objects that site needs', () => {
    const { site } = fabric(threeSites);
    expect(kinds(site('east'))).toEqual([
      'Export/default/reviews',
      'AccessPolicy/default/fabric-allow-reviews',
      'Peer/clusterlink-system/edge',
    ]);
    expect(kinds(site('west'))).toEqual(kinds(site('east')));
    expect(kinds(site('edge'))).toEqual([
      'Import/default/reviews',
      'AccessPolicy/default/fabric-allow-reviews',
      'Peer/clusterlink-system/east',
      'Peer/clusterlink-system/west',
    ]);
  });

  test('both ends agree: Import sources name the exporting sites in order, Peers carry their addresses', () => {
    const { site } = fabric(threeSites);
    const edge = site('edge');
    expect(find(edge, 'Import').spec).toEqual({
      port: 9080,
      lbScheme: 'static',
      sources: [
        { peer: 'east', exportName: 'reviews', exportNamespace: 'default' },
        { peer: 'west', exportName: 'reviews', exportNamespace: 'default' },
      ],
    });
    expect(find(edge, 'Peer', 'east').spec).toEqual({ gateways: [{ host: '192.0.2.10', port: 30443 }] });
    expect(find(edge, 'Peer', 'west').spec).toEqual({
      gateways: [
        { host: '198.51.100.20', port: 443 },
        { host: 'west-backup.example.com', port: 8443 },
      ],
    });
    expect(find(site('east'), 'Peer', 'edge').spec).toEqual({
      gateways: [{ host: 'edge.example.com', port: 443 }],
    });
    expect(find(site('east'), 'Export').spec).toEqual({ port: 9080 });
  });

  test('policies: the exporter admits the importing peers, the importer admits its clients to the exporters', () => {
    const { site } = fabric({
      ...threeSites,
      services: [
        {
          name: 'reviews',
          port: 9080,
          exportedBy: 'east',
          allowedClients: { sites: ['edge'], namespaces: ['shop'], labels: { app: 'productpage' } },
        },
      ],
    });
    const selectorOf = (m: Manifest, side: 'from' | 'to') => (m.spec as Record<string, unknown[]>)[side];
    const exporter = find(site('east'), 'AccessPolicy');
    expect(exporter.spec).toMatchObject({ action: 'allow' });
    expect(selectorOf(exporter, 'from')).toEqual([
      {
        workloadSelector: {
          matchLabels: { 'client.clusterlink.net/labels.app': 'productpage' },
          matchExpressions: [
            { key: 'peer.clusterlink.net/name', operator: 'In', values: ['edge'] },
            { key: 'client.clusterlink.net/namespace', operator: 'In', values: ['shop'] },
          ],
        },
      },
    ]);
    expect(selectorOf(exporter, 'to')).toEqual([
      { workloadSelector: { matchLabels: { 'export.clusterlink.net/name': 'reviews' } } },
    ]);
    const importer = find(site('edge'), 'AccessPolicy');
    expect(selectorOf(importer, 'to')).toEqual([
      {
        workloadSelector: {
          matchLabels: { 'export.clusterlink.net/name': 'reviews' },
          matchExpressions: [{ key: 'peer.clusterlink.net/name', operator: 'In', values: ['east'] }],
        },
      },
    ]);
    // west imports (importedBy defaults to every non-exporting site) but may not call: no policy there.
    expect(kinds(site('west'))).toEqual(['Import/default/reviews', 'Peer/clusterlink-system/east']);
  });

  test('policies: false leaves policies to the user', () => {
    const { site } = fabric({ ...threeSites, policies: false });
    expect(site('edge').some((m) => m.kind === 'AccessPolicy')).toBe(false);
  });

  test('install: a second chart per site with CRDs and the gateway, peer labels from the site', () => {
    const { fabric: built } = fabric({
      ...threeSites,
      install: { service: { type: 'NodePort', nodePort: 30443 } },
    });
    const install = synth(built.site('east').installChart!);
    expect(install.filter((m) => m.kind === 'CustomResourceDefinition')).toHaveLength(5);
    const env = (
      find(install, 'Deployment', 'cl-controlplane').spec as {
        template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
      }
    ).template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'CL_PEER_LABELS', value: 'region=us-east' });
    expect(find(install, 'Service', 'cl-dataplane').spec).toMatchObject({ type: 'NodePort' });
    expect(built.site('west').installChart).toBeDefined();
  });

  test('site() names the declared sites when asked for an unknown one', () => {
    expect(() => fabric(threeSites).fabric.site('north')).toThrow(
      'Fabric has no site "north"; its sites are east, west, edge',
    );
  });

  test('gateway addresses', () => {
    expect(parseGatewayAddress('10.0.0.1:30443')).toEqual({ host: '10.0.0.1', port: 30443 });
    expect(parseGatewayAddress('gw.example.com')).toEqual({ host: 'gw.example.com', port: 443 });
    expect(parseGatewayAddress('[2001:db8::1]:8443')).toEqual({ host: '2001:db8::1', port: 8443 });
    expect(parseGatewayAddress('2001:db8::1')).toEqual({ host: '2001:db8::1', port: 443 });
  });

  const refused: [string, FabricProps, RegExp][] = [
    ['no sites', { sites: [] }, /Fabric has no sites/],
    [
      'duplicate site',
      {
        sites: [
          { name: 'a', gateway: 'a:1' },
          { name: 'a', gateway: 'b:1' },
        ],
      },
      /site "a" is declared twice/,
    ],
    [
      'bad site name',
      { sites: [{ name: 'East', gateway: 'h' }] },
      /site name \(the peer name\) "East" must be a DNS label/,
    ],
    ['bad port', { sites: [{ name: 'a', gateway: 'h:99999' }] }, /site "a" gateway 1 port is 99999/],
    ['port not a number', { sites: [{ name: 'a', gateway: 'h:https' }] }, /site "a" gateway 1 port is NaN/],
    [
      'unknown exporter',
      { ...threeSites, services: [{ name: 's', port: 80, exportedBy: 'north' }] },
      /service "default\/s" exportedBy names site "north", which is not declared; declared sites: east, west, edge/,
    ],
    [
      'import own export',
      {
        ...threeSites,
        services: [{ name: 's', port: 80, exportedBy: 'east', importedBy: ['east', 'west'] }],
      },
      /is both exported and imported by site "east"; remove "east" from importedBy/,
    ],
    [
      'nobody imports',
      { ...threeSites, services: [{ name: 's', port: 80, exportedBy: ['east', 'west', 'edge'] }] },
      /service "default\/s" has no importing site/,
    ],
    [
      'declared twice',
      {
        ...threeSites,
        services: [
          { name: 's', port: 80, exportedBy: 'east' },
          { name: 's', port: 81, exportedBy: 'west' },
        ],
      },
      /service "default\/s" is declared twice/,
    ],
    [
      'caller that does not import',
      {
        ...threeSites,
        services: [
          {
            name: 's',
            port: 80,
            exportedBy: 'east',
            importedBy: ['west'],
            allowedClients: { sites: ['edge'] },
          },
        ],
      },
      /allowedClients.sites names "edge", which does not import it; add it to importedBy/,
    ],
    [
      'service name too long for an Import',
      { ...threeSites, services: [{ name: 's'.repeat(64), port: 80, exportedBy: 'east' }] },
      /must be usable as a Service name: at most 63/,
    ],
    [
      'gateway namespace given to install',
      { ...threeSites, install: { namespace: 'gw' } },
      /install.namespace is ignored by a Fabric .*; set gatewayNamespace instead/,
    ],
    [
      'service port',
      { ...threeSites, services: [{ name: 's', port: 0, exportedBy: 'east' }] },
      /port is 0; use an integer from 1 to 65535/,
    ],
  ];
  test.each(refused)('refused at synth: %s', (_name, props, message) => {
    const app = Testing.app();
    new Fabric(app, 'fabric', props);
    expect(() => app.synthYaml()).toThrow(message);
  });

  test('snapshot: three sites, failover across two exporters', () => {
    const { site } = fabric(threeSites);
    expect({ east: site('east'), west: site('west'), edge: site('edge') }).toMatchSnapshot();
  });
});
