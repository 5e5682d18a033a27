import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { explainImport } from '../../../cli/policy/explain';
import type { StatusReport } from '../../../controller/standalone/report';
import { exportYaml, importYaml, makeFabric, peerYaml, policyYaml } from '../standalone/fixtures';
import { cli } from './helpers';

const allow = { action: 'allow' as const, from: [{ workloadSelector: {} }], to: [{ workloadSelector: {} }] };

function site(name: string, over: Partial<StatusReport> = {}): StatusReport {
  return {
    source: 'standalone',
    peer: { name, labels: {} },
    generatedAt: '',
    peers: [],
    exports: [],
    imports: [],
    policies: [],
    invalid: [],
    errors: [],
    ...over,
  };
}

const importer = site('client', {
  peer: { name: 'client', labels: { env: 'prod' } },
  peers: [
    { name: 'east', gateways: [], labels: { region: 'us' } },
    { name: 'west', gateways: [], labels: { region: 'eu' } },
  ],
  imports: [
    {
      name: 'db',
      namespace: 'apps',
      port: 5432,
      lbScheme: 'static',
      valid: true,
      labels: {},
      sources: [
        { peer: 'east', exportName: 'db', exportNamespace: 'data' },
        { peer: 'west', exportName: 'db', exportNamespace: 'data' },
      ],
    },
  ],
  policies: [
    { kind: 'AccessPolicy', name: 'allow-all', namespace: 'apps', action: 'allow', valid: true, spec: allow },
    {
      kind: 'PrivilegedAccessPolicy',
      name: 'no-eu',
      action: 'deny',
      valid: true,
      spec: {
        action: 'deny',
        from: [{ workloadSelector: {} }],
        to: [{ workloadSelector: { matchLabels: { 'peer.clusterlink.net/labels.region': 'eu' } } }],
      },
    },
  ],
});

describe('explainImport', () => {
  it("decides egress at the importer from its policies and the peers' labels; ingress unknown without the exporter", () => {
    const e = explainImport({ importer, importName: 'db', importNamespace: 'apps', exporters: new Map() });
    expect(e.sources.map((s) => [s.peer, s.verdict])).toEqual([
      ['east', 'unknown'],
      ['west', 'denied'],
    ]);
    const [east, west] = e.sources;
    expect(east.egress).toMatchObject({
      known: true,
      peer: 'client',
      decision: { action: 'allow', policy: { kind: 'AccessPolicy', name: 'allow-all', namespace: 'apps' } },
    });
    expect(east.ingress).toMatchObject({
      known: false,
      peer: 'east',
      why: expect.stringContaining('--exporter east=URL|DIR'),
    });
    expect(west.egress).toMatchObject({
      known: true,
      decision: {
        action: 'deny',
        tier: 'privileged-deny',
        policy: { kind: 'PrivilegedAccessPolicy', name: 'no-eu' },
      },
    });
    expect(east.sourceAttributes).toEqual({
      'peer.clusterlink.net/name': 'client',
      'peer.clusterlink.net/labels.env': 'prod',
    });
  });

  it("decides ingress at the exporter in the Export's namespace, with client attributes", () => {
    const exporter = site('east', {
      exports: [{ name: 'db', namespace: 'data', target: 'h:1', valid: true, labels: {} }],
      policies: [
        {
          kind: 'AccessPolicy',
          name: 'only-backend',
          namespace: 'data',
          action: 'allow',
          valid: true,
          spec: {
            action: 'allow',
            from: [{ workloadSelector: { matchLabels: { 'client.clusterlink.net/labels.app': 'backend' } } }],
            to: [{ workloadSelector: {} }],
          },
        },
      ],
    });
    const base = {
      importer,
      importName: 'db',
      importNamespace: 'apps',
      sourcePeers: ['east'],
      exporters: new Map([['east', exporter]]),
    };
    const backend = explainImport({
      ...base,
      client: { namespace: 'apps', serviceAccount: 'default', labels: { app: 'backend' } },
    });
    expect(backend.sources).toHaveLength(1);
    expect(backend.sources[0].verdict).toBe('allowed');
    expect(backend.sources[0].ingress).toMatchObject({
      known: true,
      namespace: 'data',
      decision: { action: 'allow', policy: { name: 'only-backend' } },
    });
    const frontend = explainImport({
      ...base,
      client: { namespace: 'apps', serviceAccount: 'default', labels: { app: 'frontend' } },
    });
    expect(frontend.sources[0]).toMatchObject({
      verdict: 'denied',
      ingress: { decision: { action: 'deny', tier: 'default-deny' } },
    });
    const missing = explainImport({ ...base, exporters: new Map([['east', site('east')]]) });
    expect(missing.sources[0]).toMatchObject({
      verdict: 'denied',
      ingress: { decision: { reason: 'peer "east" has no Export data/db' } },
    });
  });

  it('names what is missing', () => {
    expect(() =>
      explainImport({ importer, importName: 'nope', importNamespace: 'apps', exporters: new Map() }),
    ).toThrow('no Import apps/nope at peer "client" (imports: apps/db)');
    expect(() =>
      explainImport({
        importer,
        importName: 'db',
        importNamespace: 'apps',
        sourcePeers: ['north'],
        exporters: new Map(),
      }),
    ).toThrow('--source-peer north is not a source');
  });
});

describe('clusterlink policy explain (configuration directories)', () => {
  let fabric: Awaited<ReturnType<typeof makeFabric>>;
  beforeAll(async () => {
    fabric = await makeFabric(['client', 'east']);
    const [client, east] = fabric.sites;
    client.write(
      'all.yaml',
      [
        peerYaml('east', '127.0.0.2', 8443),
        importYaml('echo', 9000, [{ peer: 'east', exportName: 'echo' }]),
        policyYaml('allow-all', 'allow'),
      ].join('---\n'),
    );
    east.write(
      'all.yaml',
      [exportYaml('echo', '127.0.0.1', 8080), policyYaml('deny-client', 'deny', 'client')].join('---\n'),
    );
  });
  afterAll(() => fabric.cleanup());

  it('explains both ends from two directories', async () => {
    const [client, east] = fabric.sites;
    const r = await cli([
      'policy',
      'explain',
      '--import',
      'echo',
      '--config',
      client.dir,
      '--exporter',
      `east=${east.dir}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Import default/echo at peer "client", for an unidentified client');
    expect(r.stdout).toContain('source east (export default/echo): DENIED');
    expect(r.stdout).toMatch(
      /egress +at client: ALLOW by AccessPolicy default\/allow-all \[namespaced-allow\]/,
    );
    expect(r.stdout).toMatch(
      /ingress at east: DENY by AccessPolicy default\/deny-client \[namespaced-deny\]/,
    );
  });

  it('prints JSON with the attributes', async () => {
    const [client] = fabric.sites;
    const r = await cli([
      'policy',
      'explain',
      '--import',
      'echo',
      '--config',
      client.dir,
      '--client-namespace',
      'web',
      '--client-label',
      'app=ui',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e.client).toEqual({ namespace: 'web', serviceAccount: 'default', labels: { app: 'ui' } });
    expect(e.sources[0].sourceAttributes).toMatchObject({
      'client.clusterlink.net/namespace': 'web',
      'client.clusterlink.net/labels.app': 'ui',
    });
    expect(e.sources[0].verdict).toBe('unknown');
  });

  it.each([
    [
      ['--import', 'echo', '--exporter', 'east'],
      2,
      '--exporter "east" must have the form peer=URL or peer=DIR',
    ],
    [['--import', 'nope'], 1, 'no Import default/nope at peer "client"'],
    [
      ['--import', 'echo', '--client-label', 'app=x'],
      2,
      '--client-label and --client-service-account need --client-namespace',
    ],
    [
      ['--import', 'echo', '--client-namespace', 'x', '--client-label', 'bad'],
      2,
      '--client-label "bad" must have the form key=value',
    ],
    [
      ['--import', 'echo', '--gateway', 'http://127.0.0.1:1'],
      2,
      'give either --gateway or --config, not both',
    ],
  ])('rejects %j', async (args, code, message) => {
    const [client] = fabric.sites;
    const r = await cli(['policy', 'explain', '--config', client.dir, ...args]);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
  });

  it('requires --import', async () => {
    const r = await cli(['policy', 'explain']);
    expect(r).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("required option '--import <name>' not specified"),
    });
  });

  it('reports a directory whose certificate is unreadable', async () => {
    const [client] = fabric.sites;
    writeFileSync(path.join(client.dir, 'cert.pem'), 'junk');
    const r = await cli(['policy', 'explain', '--import', 'echo', '--config', client.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the importing site does not name its peer: ${path.join(client.dir, 'cert.pem')}: not a PEM certificate`,
    );
  });
});
