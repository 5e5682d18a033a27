/**
 * The CRD schemas, evaluated by a real kube-apiserver: every valid case is accepted by
 * `kubectl apply --dry-run=server` and stored by server-side apply (with the server's defaults),
 * every invalid case is refused by both with the message we wrote, and every ClusterLink object of
 * the upstream manifests applies unchanged.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { distDir, readCrds, waitForCrdsEstablished } from '../harness/crds';
import { useTestCluster } from '../harness/cluster';
import { kubectl, kubectlOk } from '../harness/kubectl';

jest.setTimeout(120_000);

const API = 'clusterlink.net/v1alpha1';
const CRD_FILE = path.join(distDir, 'clusterlink-crds.yaml');
const UPSTREAM_DIR = path.join(__dirname, 'fixtures', 'upstream-manifests');

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
};

const cluster = useTestCluster({ name: 'crds' });

beforeAll(async () => {
  // kubectl sends the YAML as it is; client-node's typed serializer would drop the schema keys it
  // models under other names (enum, default, x-kubernetes-*) from the top-level properties.
  await kubectlOk(cluster(), ['apply', '--server-side', '-f', CRD_FILE]);
  await waitForCrdsEstablished(
    cluster().kubeConfig,
    readCrds().map((crd) => crd.metadata!.name!),
  );
  await kubectlOk(cluster(), ['create', 'namespace', 'clusterlink-system']);
});

async function dryRun(manifest: object) {
  return kubectl(cluster(), ['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(manifest) });
}

async function serverSideApply(manifest: object) {
  return kubectl(cluster(), ['apply', '--server-side', '--field-manager=crds-test', '-f', '-'], {
    input: JSON.stringify(manifest),
  });
}

async function stored(manifest: Manifest): Promise<Record<string, unknown>> {
  const args = [
    'get',
    `${manifest.kind.toLowerCase()}.clusterlink.net`,
    manifest.metadata.name,
    '-o',
    'json',
  ];
  if (manifest.metadata.namespace) args.push('-n', manifest.metadata.namespace);
  return JSON.parse(await kubectlOk(cluster(), args)) as Record<string, unknown>;
}

function object(
  kind: string,
  name: string,
  spec: unknown,
  namespace: string | undefined = 'default',
): Manifest {
  return { apiVersion: API, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec };
}

const source = (peer: string) => ({ peer, exportName: 'reviews', exportNamespace: 'default' });

const valid: [string, Manifest][] = [
  [
    'Peer with two gateways',
    object(
      'Peer',
      'server1',
      {
        gateways: [
          { host: '10.0.0.1', port: 30443 },
          { host: 'server1.example.com', port: 443 },
        ],
      },
      'clusterlink-system',
    ),
  ],
  ['Export without host', object('Export', 'reviews', { port: 9080 })],
  ['Export with host', object('Export', 'external-db', { host: 'db.example.com', port: 5432 })],
  ['Export with neither (the Service of the same name)', object('Export', 'ratings', {})],
  [
    'Import with two sources and lbScheme static',
    object('Import', 'reviews-static', {
      port: 9080,
      sources: [source('server1'), source('server2')],
      lbScheme: 'static',
    }),
  ],
  [
    'Import with targetPort 0 (allocate)',
    object('Import', 'reviews-alloc', { port: 9080, targetPort: 0, sources: [source('server1')] }),
  ],
  [
    'Import with the merge label',
    {
      ...object('Import', 'reviews-merged', { port: 9080, sources: [source('server1')] }),
      metadata: {
        name: 'reviews-merged',
        namespace: 'default',
        labels: { 'import.clusterlink.net/merge': 'true' },
      },
    } as Manifest,
  ],
  [
    'Import name of 63 characters',
    object('Import', 'i'.repeat(63), { port: 80, sources: [source('server1')] }),
  ],
  [
    'AccessPolicy with matchExpressions In, NotIn, Exists, DoesNotExist',
    object('AccessPolicy', 'expressions', {
      action: 'allow',
      from: [
        {
          workloadSelector: {
            matchExpressions: [
              { key: 'peer.clusterlink.net/name', operator: 'In', values: ['server1', 'server2'] },
              { key: 'client.clusterlink.net/namespace', operator: 'NotIn', values: ['kube-system'] },
              { key: 'client.clusterlink.net/labels.app', operator: 'Exists' },
              { key: 'client.clusterlink.net/labels.debug', operator: 'DoesNotExist' },
            ],
          },
        },
      ],
      to: [{ workloadSelector: { matchLabels: { 'export.clusterlink.net/name': 'reviews' } } }],
    }),
  ],
  [
    'AccessPolicy with workloadSets',
    object('AccessPolicy', 'sets', {
      action: 'deny',
      from: [{ workloadSets: ['untrusted'] }],
      to: [{ workloadSelector: {} }],
    }),
  ],
  [
    'PrivilegedAccessPolicy denying by peer name',
    object(
      'PrivilegedAccessPolicy',
      'deny-from-server1',
      {
        action: 'deny',
        from: [{ workloadSelector: { matchLabels: { 'peer.clusterlink.net/name': 'server1' } } }],
        to: [{ workloadSelector: {} }],
      },
      undefined,
    ),
  ],
];

describe('valid objects', () => {
  test.each(valid)(
    '%s: accepted by --dry-run=server and stored by server-side apply',
    async (_name, manifest) => {
      const check = await dryRun(manifest);
      expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
      expect(check.stdout).toContain('(server dry run)');
      const applied = await serverSideApply(manifest);
      expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
      const back = await stored(manifest);
      expect(back.spec).toEqual(expect.objectContaining(manifest.spec as object));
    },
  );

  test('the server writes the default lbScheme round-robin', async () => {
    const manifest = object('Import', 'defaulted', { port: 80, sources: [source('server1')] });
    expect((await serverSideApply(manifest)).code).toBe(0);
    expect((await stored(manifest)).spec).toEqual({
      port: 80,
      sources: [source('server1')],
      lbScheme: 'round-robin',
    });
  });
});

const importOf = (spec: object, name = 'bad-import') => object('Import', name, spec);
const policyOf = (spec: object, kind = 'AccessPolicy') =>
  object(kind, 'bad-policy', spec, kind === 'AccessPolicy' ? 'default' : undefined);
const all = [{ workloadSelector: {} }];

const invalid: [string, Manifest, (string | RegExp)[]][] = [
  [
    'unknown lbScheme',
    importOf({ port: 80, sources: [source('a')], lbScheme: 'weighted' }),
    ['spec.lbScheme: Unsupported value: "weighted": supported values: "round-robin", "random", "static"'],
  ],
  [
    'action "permit"',
    policyOf({ action: 'permit', from: all, to: all }),
    ['spec.action: Unsupported value: "permit": supported values: "allow", "deny"'],
  ],
  [
    'PrivilegedAccessPolicy action "permit"',
    policyOf({ action: 'permit', from: all, to: all }, 'PrivilegedAccessPolicy'),
    ['spec.action: Unsupported value: "permit"'],
  ],
  [
    'Import port 70000',
    importOf({ port: 70000, sources: [source('a')] }),
    ['spec.port: Invalid value: 70000: spec.port in body should be less than or equal to 65535'],
  ],
  [
    'Peer gateway port 70000',
    object('Peer', 'bad-peer', { gateways: [{ host: 'h', port: 70000 }] }, 'clusterlink-system'),
    ['spec.gateways[0].port: Invalid value: 70000', 'less than or equal to 65535'],
  ],
  [
    'Export port 0',
    object('Export', 'bad-export', { port: 0 }),
    ['spec.port: Invalid value: 0: spec.port in body should be greater than or equal to 1'],
  ],
  [
    '64-character Import name',
    importOf({ port: 80, sources: [source('a')] }, 'i'.repeat(64)),
    [
      'Import name must be at most 63 characters, because it becomes the name of a Service; choose a shorter metadata.name',
    ],
  ],
  [
    'from item with both workloadSelector and workloadSets',
    policyOf({ action: 'allow', from: [{ workloadSelector: {}, workloadSets: ['x'] }], to: all }),
    [
      'spec.from[0]',
      'each from/to item must set exactly one of workloadSelector or workloadSets (use workloadSelector: {} to match every workload)',
    ],
  ],
  [
    'to item with neither field',
    policyOf({ action: 'allow', from: all, to: [{}] }),
    ['spec.to[0]', 'each from/to item must set exactly one of workloadSelector or workloadSets'],
  ],
  [
    'PrivilegedAccessPolicy from item with neither field',
    policyOf({ action: 'deny', from: [{}], to: all }, 'PrivilegedAccessPolicy'),
    ['spec.from[0]', 'each from/to item must set exactly one of workloadSelector or workloadSets'],
  ],
  [
    'empty from',
    policyOf({ action: 'allow', from: [], to: all }),
    ['spec.from must list at least one item (use - workloadSelector: {} to match every source)'],
  ],
  [
    'empty to',
    policyOf({ action: 'allow', from: all, to: [] }),
    ['spec.to must list at least one item (use - workloadSelector: {} to match every destination)'],
  ],
  ['policy without action', policyOf({ from: all, to: all }), ['spec.action: Required value']],
  [
    'In without values',
    policyOf({
      action: 'allow',
      from: [{ workloadSelector: { matchExpressions: [{ key: 'k', operator: 'In' }] } }],
      to: all,
    }),
    [
      'matchExpressions: operators In and NotIn need at least one entry in values; Exists and DoesNotExist take no values',
    ],
  ],
  [
    'Exists with values',
    policyOf({
      action: 'allow',
      from: [{ workloadSelector: { matchExpressions: [{ key: 'k', operator: 'Exists', values: ['v'] }] } }],
      to: all,
    }),
    ['Exists and DoesNotExist take no values'],
  ],
  [
    'unknown selector operator',
    policyOf({
      action: 'allow',
      from: [{ workloadSelector: { matchExpressions: [{ key: 'k', operator: 'Like' }] } }],
      to: all,
    }),
    ['operator: Unsupported value: "Like"'],
  ],
  [
    'Peer without gateways',
    object('Peer', 'bad-peer', { gateways: [] }, 'clusterlink-system'),
    ['spec.gateways: Invalid value: 0', 'should have at least 1 items'],
  ],
  ['Import without sources', importOf({ port: 80 }), ['spec.sources: Required value']],
  [
    'Import source without peer',
    importOf({ port: 80, sources: [{ exportName: 'x', exportNamespace: 'y' }] }),
    ['spec.sources[0].peer: Required value'],
  ],
  [
    'unknown spec field',
    importOf({ port: 80, sources: [source('a')], weight: 3 }),
    // Client-side apply and server-side apply word it differently.
    [/unknown field "spec\.weight"|\.spec\.weight: field not declared in schema/],
  ],
];

describe('invalid objects', () => {
  test.each(invalid)('%s: refused with the intended message', async (_name, manifest, messages) => {
    for (const result of [await dryRun(manifest), await serverSideApply(manifest)]) {
      expect(result.code).not.toBe(0);
      for (const message of messages) {
        if (typeof message === 'string') expect(result.stderr).toContain(message);
        else expect(result.stderr).toMatch(message);
      }
    }
  });
});

/** Upstream demo manifests use ${VAR} placeholders for addresses that a script fills in. */
function substitute(text: string): string {
  return text.replace(/\$\{[A-Z0-9_]+\}/g, '192.0.2.1');
}

function upstreamFiles(): string[] {
  return fs
    .readdirSync(UPSTREAM_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

function upstreamObjects(): { file: string; manifest: Manifest }[] {
  return upstreamFiles().flatMap((file) =>
    parseAllDocuments(substitute(fs.readFileSync(path.join(UPSTREAM_DIR, file), 'utf8')))
      .map((doc) => doc.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null && m.apiVersion === API)
      .map((manifest) => ({ file, manifest })),
  );
}

describe('upstream ClusterLink manifests', () => {
  const objects = upstreamObjects();

  test('every file holds ClusterLink objects (33 in 27 files)', () => {
    expect(new Set(objects.map((o) => o.file))).toEqual(new Set(upstreamFiles()));
    expect(upstreamFiles()).toHaveLength(27);
    expect(objects).toHaveLength(33);
  });

  // Kubernetes itself requires object names to be DNS subdomains; one upstream policy-engine test
  // file (never applied to a cluster upstream) uses an underscore. Its spec is checked under a
  // valid name, and the refusal of the original name is shown to be about the name alone.
  const nameFixed = (m: Manifest): Manifest => ({
    ...m,
    metadata: { ...m.metadata, name: m.metadata.name.replace(/_/g, '-') },
  });

  test.each(
    objects.map((o) => [`${o.file}: ${o.manifest.kind} ${o.manifest.metadata.name}`, o.manifest] as const),
  )('%s applies unchanged', async (_name, manifest) => {
    // Several upstream files share names; kubectl may warn about an object a previous case
    // applied, never refuse.
    const applied = await dryRun(nameFixed(manifest));
    expect({ code: applied.code, error: /error/i.test(applied.stderr) }).toEqual({ code: 0, error: false });
    const ssa = await serverSideApply(nameFixed(manifest));
    expect({ code: ssa.code, error: /error/i.test(ssa.stderr) }).toEqual({ code: 0, error: false });
    expect((await stored(nameFixed(manifest))).spec).toEqual(
      expect.objectContaining(manifest.spec as object),
    );
  });

  test('the one upstream name with an underscore is refused by Kubernetes name rules only', async () => {
    const odd = objects.filter((o) => o.manifest.metadata.name.includes('_'));
    expect(odd.map((o) => o.manifest.metadata.name)).toEqual(['allow-connecting-to-named_workloads']);
    const result = await dryRun(odd[0].manifest);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('metadata.name: Invalid value: "allow-connecting-to-named_workloads"');
    expect(result.stderr).not.toContain('spec.');
  });
});

describe('status subresource and printer columns', () => {
  const peer = object(
    'Peer',
    'columns',
    { gateways: [{ host: '10.1.1.1', port: 443 }] },
    'clusterlink-system',
  );

  test('status is written through /status only, and kubectl get shows the columns', async () => {
    expect((await serverSideApply(peer)).code).toBe(0);
    const custom = cluster().kubeConfig.makeApiClient(CustomObjectsApi);
    const current = (await custom.getNamespacedCustomObject({
      group: 'clusterlink.net',
      version: 'v1alpha1',
      namespace: 'clusterlink-system',
      plural: 'peers',
      name: 'columns',
    })) as { metadata: { generation: number } };
    const status = {
      conditions: [
        {
          type: 'PeerReachable',
          status: 'True',
          reason: 'Heartbeat',
          message: 'GET /healthz answered 200',
          lastTransitionTime: '2026-01-01T00:00:00Z',
          observedGeneration: current.metadata.generation,
        },
      ],
      labels: { region: 'eu' },
    };
    await custom.replaceNamespacedCustomObjectStatus({
      group: 'clusterlink.net',
      version: 'v1alpha1',
      namespace: 'clusterlink-system',
      plural: 'peers',
      name: 'columns',
      body: { ...current, status },
    });
    // A status sent with the main resource is ignored there.
    await serverSideApply({ ...peer, status: { labels: { region: 'elsewhere' } } });
    expect((await stored(peer)).status).toEqual(status);

    const table = await kubectlOk(cluster(), ['get', 'clpeer', 'columns', '-n', 'clusterlink-system']);
    const [header, row] = table.trim().split('\n');
    expect(header.split(/\s{2,}/)).toEqual(['NAME', 'REACHABLE', 'GATEWAYS', 'AGE']);
    expect(row).toMatch(/^columns\s+True\s+\[\{"host":"10\.1\.1\.1","port":443\}\]\s+\S+$/);
  });

  test('kubectl get clusterlink lists every kind', async () => {
    for (const [, manifest] of valid) expect((await serverSideApply(manifest)).code).toBe(0);
    const everything = (await kubectlOk(cluster(), ['get', 'clusterlink', '-A', '-o', 'name'])).split('\n');
    for (const kind of ['peer', 'export', 'import', 'accesspolicy', 'privilegedaccesspolicy']) {
      expect(everything.some((line) => line.startsWith(`${kind}.clusterlink.net/`))).toBe(true);
    }
  });

  test('Import columns and wide columns', async () => {
    const imp = object('Import', 'wide', {
      port: 8080,
      targetPort: 30001,
      sources: [source('server1')],
      lbScheme: 'random',
    });
    expect((await serverSideApply(imp)).code).toBe(0);
    const wide = await kubectlOk(cluster(), ['get', 'climport', 'wide', '-n', 'default', '-o', 'wide']);
    const [header, row] = wide.trim().split('\n');
    expect(header.split(/\s{2,}/)).toEqual([
      'NAME',
      'PORT',
      'TARGET PORT',
      'LB SCHEME',
      'VALID',
      'PORT VALID',
      'SOURCES',
      'AGE',
    ]);
    // VALID and PORT VALID are empty until a control plane writes the conditions.
    expect(row).toMatch(
      /^wide\s+8080\s+30001\s+random\s+\[\{"exportName":"reviews","exportNamespace":"default","peer":"server1"\}\]\s+\S+$/,
    );
  });

  test('policy Action column', async () => {
    const policy = object(
      'PrivilegedAccessPolicy',
      'deny-from-server1',
      { action: 'deny', from: [{ workloadSelector: {} }], to: [{ workloadSelector: {} }] },
      undefined,
    );
    expect((await serverSideApply(policy)).code).toBe(0);
    const table = await kubectlOk(cluster(), ['get', 'clpap', 'deny-from-server1']);
    expect(table.trim().split('\n')[1]).toMatch(/^deny-from-server1\s+deny\s+\S+$/);
  });
});
