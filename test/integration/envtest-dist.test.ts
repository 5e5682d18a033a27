/**
 * The install YAML we ship (dist/, written by `npm run synth`) against a real API server: the CRDs
 * become Established, `kubectl apply` of the whole folder succeeds, the schema refuses bad objects
 * with its own messages, and the gateway's RBAC grants what the controller needs and no more.
 */
import {
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
  type V1CustomResourceDefinition,
  type V1ResourceAttributes,
} from '@kubernetes/client-node';
import { distDir, installCrds, readCrds, readManifests } from '../harness/crds';
import { useTestCluster } from '../harness/cluster';
import { kubectl } from '../harness/kubectl';

jest.setTimeout(60_000);

const group = 'clusterlink.net';
const cluster = useTestCluster({ name: 'envtest-dist' });

/** The x-kubernetes-validations messages at a schema path (property names) of a CRD. */
function celMessages(crd: V1CustomResourceDefinition, schemaPath: readonly string[]): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let node: any = crd.spec.versions[0].schema?.openAPIV3Schema;
  for (const step of schemaPath) node = step === '[]' ? node?.items : node?.properties?.[step];
  return ((node?.['x-kubernetes-validations'] ?? []) as { message?: string }[]).map((v) => v.message ?? '');
}

function crdFor(kind: string): V1CustomResourceDefinition {
  const crd = readCrds().find((c) => c.spec.group === group && c.spec.names.kind === kind);
  if (!crd) throw new Error(`dist/ has no CustomResourceDefinition for ${kind}`);
  return crd;
}

describe('dist/ install manifests on a real API server', () => {
  it('installs the five CRDs and they become Established', async () => {
    const names = await installCrds(cluster().kubeConfig);
    expect(names.sort()).toEqual(
      ['accesspolicies', 'exports', 'imports', 'peers', 'privilegedaccesspolicies'].map(
        (p) => `${p}.${group}`,
      ),
    );
    const resources = await kubectl(cluster(), ['api-resources', `--api-group=${group}`, '-o', 'name']);
    expect(resources.stdout.trim().split('\n').sort()).toEqual(names.sort());
    // Installing again replaces them in place (same objects, nothing to change).
    const uid = async () =>
      (await kubectl(cluster(), ['get', 'crd', `peers.${group}`, '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const before = await uid();
    expect((await installCrds(cluster().kubeConfig)).sort()).toEqual(names.sort());
    expect(await uid()).toBe(before);
  });

  // After the CRDs (the test above): in one `kubectl apply` the custom objects of the example
  // fabric would be mapped before their CRDs exist ("ensure CRDs are installed first").
  it('applies every file in dist/ with kubectl apply', async () => {
    const result = await kubectl(cluster(), ['apply', '--recursive', '-f', distDir]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(result.stderr).not.toMatch(/error/i);
    // Every object in dist/ was reported (created, configured or unchanged) and can be read back.
    const objects = readManifests();
    expect(result.stdout.trim().split('\n')).toHaveLength(objects.length);
    const got = await kubectl(cluster(), ['get', '--recursive', '-f', distDir, '-o', 'name']);
    expect({ code: got.code, stderr: got.stderr }).toEqual({ code: 0, stderr: '' });
    expect(got.stdout.trim().split('\n')).toHaveLength(objects.length);
  });

  describe('schema validation by the API server', () => {
    async function applyExpectingRefusal(manifest: object): Promise<string> {
      const result = await kubectl(cluster(), ['apply', '-f', '-'], { input: JSON.stringify(manifest) });
      expect(result.code).not.toBe(0);
      return result.stderr;
    }

    it('refuses an unknown lbScheme with the enum message', async () => {
      const stderr = await applyExpectingRefusal({
        apiVersion: `${group}/v1alpha1`,
        kind: 'Import',
        metadata: { name: 'bad-scheme', namespace: 'default' },
        spec: {
          port: 80,
          sources: [{ peer: 'east', exportName: 'echo', exportNamespace: 'default' }],
          lbScheme: 'fastest',
        },
      });
      expect(stderr).toContain('spec.lbScheme: Unsupported value: "fastest"');
    });

    it('refuses port 70000 with the range message', async () => {
      const stderr = await applyExpectingRefusal({
        apiVersion: `${group}/v1alpha1`,
        kind: 'Export',
        metadata: { name: 'bad-port', namespace: 'default' },
        spec: { port: 70000 },
      });
      expect(stderr).toContain('spec.port: Invalid value: 70000');
      expect(stderr).toContain('65535');
    });

    it('refuses an Import name longer than 63 characters with the CRD rule message', async () => {
      const [message] = celMessages(crdFor('Import'), []);
      expect(message).toBeTruthy();
      const stderr = await applyExpectingRefusal({
        apiVersion: `${group}/v1alpha1`,
        kind: 'Import',
        metadata: { name: 'i'.repeat(64), namespace: 'default' },
        spec: { port: 80, sources: [{ peer: 'east', exportName: 'echo', exportNamespace: 'default' }] },
      });
      expect(stderr).toContain(message);
    });

    it('refuses a policy item with both workloadSelector and workloadSets with the CRD rule message', async () => {
      const messages = celMessages(crdFor('AccessPolicy'), ['spec', 'from', '[]']);
      expect(messages.length).toBeGreaterThan(0);
      const stderr = await applyExpectingRefusal({
        apiVersion: `${group}/v1alpha1`,
        kind: 'AccessPolicy',
        metadata: { name: 'both', namespace: 'default' },
        spec: {
          action: 'allow',
          from: [{ workloadSelector: {}, workloadSets: ['a'] }],
          to: [{ workloadSelector: {} }],
        },
      });
      expect(messages.some((m) => stderr.includes(m))).toBe(true);
    });

    it('stores a valid object the same schema accepts (the refusals above are not blanket failures)', async () => {
      const custom = cluster().kubeConfig.makeApiClient(CustomObjectsApi);
      await custom.createNamespacedCustomObject({
        group,
        version: 'v1alpha1',
        namespace: 'default',
        plural: 'imports',
        body: {
          apiVersion: `${group}/v1alpha1`,
          kind: 'Import',
          metadata: { name: 'i'.repeat(63) },
          spec: { port: 80, sources: [{ peer: 'east', exportName: 'echo', exportNamespace: 'default' }] },
        },
      });
      const stored = (await custom.getNamespacedCustomObject({
        group,
        version: 'v1alpha1',
        namespace: 'default',
        plural: 'imports',
        name: 'i'.repeat(63),
      })) as { spec: { lbScheme?: string; port: number } };
      expect(stored.spec.port).toBe(80);
      expect(stored.spec.lbScheme).toBe('round-robin'); // schema default applied by the server
    });
  });

  describe('the gateway ServiceAccount and its ClusterRole from dist/', () => {
    /** The ServiceAccount that dist/ binds to a ClusterRole granting access to Peers. */
    function gatewaySubject(): { namespace: string; name: string; clusterRole: string } {
      const manifests = readManifests();
      const roles = manifests.filter((o) => o.kind === 'ClusterRole') as unknown as V1ClusterRole[];
      const gatewayRoles = roles.filter((r) =>
        (r.rules ?? []).some((rule) => rule.apiGroups?.includes(group) && rule.resources?.includes('peers')),
      );
      const bindings = manifests.filter(
        (o) => o.kind === 'ClusterRoleBinding',
      ) as unknown as V1ClusterRoleBinding[];
      for (const binding of bindings) {
        if (!gatewayRoles.some((r) => r.metadata?.name === binding.roleRef.name)) continue;
        const sa = (binding.subjects ?? []).find((s) => s.kind === 'ServiceAccount');
        if (sa?.namespace)
          return { namespace: sa.namespace, name: sa.name, clusterRole: binding.roleRef.name };
      }
      throw new Error(
        `dist/ has no ClusterRoleBinding of a ServiceAccount to a ClusterRole that grants ${group} peers`,
      );
    }

    async function allowed(attributes: V1ResourceAttributes): Promise<boolean> {
      const { namespace, name } = gatewaySubject();
      const review = await cluster()
        .kubeConfig.makeApiClient(AuthorizationV1Api)
        .createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${namespace}:${name}`,
              groups: [
                'system:serviceaccounts',
                `system:serviceaccounts:${namespace}`,
                'system:authenticated',
              ],
              resourceAttributes: attributes,
            },
          },
        });
      return review.status?.allowed === true;
    }

    const watched = [
      { group, resource: 'peers' },
      { group, resource: 'exports' },
      { group, resource: 'imports' },
      { group, resource: 'accesspolicies' },
      { group, resource: 'privilegedaccesspolicies' },
      { group: '', resource: 'services' },
      { group: 'discovery.k8s.io', resource: 'endpointslices' },
      { group: '', resource: 'pods' },
    ];

    it.each(watched.flatMap((r) => ['get', 'list', 'watch'].map((verb) => ({ ...r, verb }))))(
      'may $verb $resource cluster-wide',
      async ({ group: apiGroup, resource, verb }) => {
        expect(await allowed({ group: apiGroup, resource, verb })).toBe(true);
      },
    );

    it.each([
      { group: '', resource: 'services', verb: 'create' },
      { group: '', resource: 'services', verb: 'update' },
      { group: 'discovery.k8s.io', resource: 'endpointslices', verb: 'create' },
      { group: 'discovery.k8s.io', resource: 'endpointslices', verb: 'update' },
    ])('may $verb $resource in an application namespace', async (attributes) => {
      expect(await allowed({ ...attributes, namespace: 'apps' })).toBe(true);
    });

    it.each(['peers', 'exports', 'imports'])('may update %s/status', async (resource) => {
      expect(
        await allowed({ group, resource, subresource: 'status', verb: 'update', namespace: 'apps' }),
      ).toBe(true);
    });

    it.each(['get', 'create', 'update'])('may %s leader-election Leases in its namespace', async (verb) => {
      const { namespace } = gatewaySubject();
      expect(await allowed({ group: 'coordination.k8s.io', resource: 'leases', verb, namespace })).toBe(true);
    });

    it('may create Events', async () => {
      const core = await allowed({ group: '', resource: 'events', verb: 'create', namespace: 'apps' });
      const eventsApi = await allowed({
        group: 'events.k8s.io',
        resource: 'events',
        verb: 'create',
        namespace: 'apps',
      });
      expect(core || eventsApi).toBe(true);
    });

    it.each([
      { group: '', resource: 'secrets', verb: 'list' },
      { group: '', resource: 'secrets', verb: 'get' },
      { group: '', resource: 'namespaces', verb: 'delete' },
      { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verb: 'create' },
    ])('is refused $verb $resource', async (attributes) => {
      expect(await allowed(attributes)).toBe(false);
    });

    it('real requests with its token: lists Peers everywhere, is refused Secrets cluster-wide', async () => {
      const { namespace, name } = gatewaySubject();
      const sa = await cluster().kubeconfigForServiceAccount(namespace, name);
      const custom = sa.kubeConfig.makeApiClient(CustomObjectsApi);
      const peers = (await custom.listCustomObjectForAllNamespaces({
        group,
        version: 'v1alpha1',
        plural: 'peers',
      })) as {
        items: unknown[];
      };
      expect(Array.isArray(peers.items)).toBe(true);
      const core = sa.kubeConfig.makeApiClient(CoreV1Api);
      await expect(core.listSecretForAllNamespaces()).rejects.toMatchObject({
        code: 403,
        body: expect.stringContaining(`system:serviceaccount:${namespace}:${name}`),
      });
      await expect(core.deleteNamespace({ name: 'default' })).rejects.toMatchObject({ code: 403 });
      const whoami = await kubectl(sa, ['auth', 'can-i', 'watch', `imports.${group}`, '--all-namespaces']);
      expect(whoami.stdout.trim()).toBe('yes');
    });
  });
});
