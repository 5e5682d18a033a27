import { CustomObjectsApi } from '@kubernetes/client-node';
import { installCrds } from '../harness/crds';
import { useTestCluster } from '../harness/cluster';

// installCrds must carry the schema's enums, defaults and CEL rules to the server intact.
describe('installCrds keeps the full schema', () => {
  const cluster = useTestCluster();

  beforeAll(async () => {
    await installCrds(cluster().kubeConfig);
  });

  function importObject(name: string, spec: Record<string, unknown>) {
    return {
      apiVersion: 'clusterlink.net/v1alpha1',
      kind: 'Import',
      metadata: { name, namespace: 'default' },
      spec,
    };
  }

  it('applies the lbScheme default and refuses an unknown lbScheme and a 64-character name', async () => {
    const api = cluster().kubeConfig.makeApiClient(CustomObjectsApi);
    const source = [{ peer: 'east', exportName: 'web', exportNamespace: 'default' }];
    const stored = (await api.createNamespacedCustomObject({
      group: 'clusterlink.net',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'imports',
      body: importObject('web', { port: 80, sources: source }),
    })) as { spec: { lbScheme?: string } };
    expect(stored.spec.lbScheme).toBe('round-robin');

    await expect(
      api.createNamespacedCustomObject({
        group: 'clusterlink.net',
        version: 'v1alpha1',
        namespace: 'default',
        plural: 'imports',
        body: importObject('weighted', { port: 80, sources: source, lbScheme: 'weighted' }),
      }),
    ).rejects.toMatchObject({ code: 422, body: expect.stringContaining('lbScheme') });

    await expect(
      api.createNamespacedCustomObject({
        group: 'clusterlink.net',
        version: 'v1alpha1',
        namespace: 'default',
        plural: 'imports',
        body: importObject('x'.repeat(64), { port: 80, sources: source }),
      }),
    ).rejects.toMatchObject({ code: 422 });
  });
});
