/**
 * The Import reconciler against a real API server: port allocation and write-back, port
 * conflicts, the Service and EndpointSlice pointing at the data-plane pods, a conflicting user
 * Service, merge mode, recreation after manual deletion, and cleanup on Import deletion.
 */
import { Condition, IMPORT_MERGE_LABEL, MANAGED_BY_LABEL } from '../../kernel/api/labels';
import type { EndpointSlice, Service } from '../../controller/k8s/core';
import { Resources } from '../../controller/k8s/resources';
import { runControlPlane, type ControlPlane } from '../../controller/main';
import type { Import } from '../../imports/clusterlink.net.types';
import { startTestCluster, type TestCluster } from '../harness/cluster';
import {
  create,
  createDataplanePod,
  crd,
  ensureNamespace,
  eventually,
  eventsFor,
  prepareSite,
  read,
  remove,
  waitForCondition,
  type Site,
} from './controller-helpers';

jest.setTimeout(90_000);

let testCluster: TestCluster;
const cluster = () => testCluster;
let site: Site;
let cp: ControlPlane;

const source = [{ peer: 'west', exportName: 'echo', exportNamespace: 'default' }];

beforeAll(async () => {
  testCluster = await startTestCluster({ name: 'controller-import' });
  site = await prepareSite(cluster());
  await createDataplanePod(site.client, 'cl-dataplane-a', '10.0.0.11');
  await createDataplanePod(site.client, 'cl-dataplane-b', '10.0.0.12');
  cp = await startControlPlane();
}, 120_000);

async function startControlPlane(): Promise<ControlPlane> {
  const started = await runControlPlane({
    kubeConfig: cluster().kubeConfig,
    tls: site.tls,
    adminPort: 0,
    snapshotPort: 0,
    leaseRetryMs: 200,
    peerMonitor: () => ({ setPeers: () => undefined, verdict: () => undefined, close: () => undefined }),
  });
  await eventually(() => started.isLeader(), 'leadership');
  return started;
}

afterAll(async () => {
  await cp?.close();
  site?.client.close();
  await testCluster?.stop();
}, 60_000);

async function slice(ns: string, name: string) {
  return read<EndpointSlice>(site.client, Resources.endpointSlice, ns, `${name}-clusterlink`);
}

describe('Import', () => {
  it('allocates a target port, writes it back, and creates a Service with EndpointSlice on the data-plane pods', async () => {
    await ensureNamespace(site.client, 'app1');
    await create(
      site.client,
      Resources.import,
      crd('Import', 'app1', 'echo', { port: 8080, sources: source }),
    );
    const imp = await waitForCondition<Import>(
      site.client,
      Resources.import,
      'app1',
      'echo',
      Condition.importServiceValid,
      'True',
      'ServiceReady',
    );
    const port = imp.spec.targetPort!;
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThanOrEqual(29999);
    expect(imp.status?.conditions?.find((c) => c.type === Condition.importTargetPortValid)).toMatchObject({
      status: 'True',
      observedGeneration: imp.metadata.generation,
    });

    const svc = await read<Service>(site.client, Resources.service, 'app1', 'echo');
    expect(svc?.metadata?.labels?.[MANAGED_BY_LABEL]).toBe('clusterlink.net');
    expect(svc?.spec?.selector).toBeUndefined();
    expect(svc?.spec?.ports).toEqual([
      expect.objectContaining({ name: 'tcp', port: 8080, targetPort: port }),
    ]);
    const es = await slice('app1', 'echo');
    expect(es?.metadata?.labels?.['kubernetes.io/service-name']).toBe('echo');
    expect(es?.ports).toEqual([expect.objectContaining({ name: 'tcp', port, protocol: 'TCP' })]);
    expect(es?.endpoints.map((e) => e.addresses[0]).sort()).toEqual(['10.0.0.11', '10.0.0.12']);
  });

  it('follows the data-plane pods: a new pod appears in the EndpointSlice', async () => {
    await createDataplanePod(site.client, 'cl-dataplane-c', '10.0.0.13');
    await eventually(async () => (await slice('app1', 'echo'))?.endpoints.length === 3, 'third endpoint');
    await remove(site.client, Resources.pod, 'clusterlink-system', 'cl-dataplane-c');
    await eventually(async () => (await slice('app1', 'echo'))?.endpoints.length === 2, 'endpoint removed');
  });

  it('keeps a requested target port and refuses one another Import holds', async () => {
    await ensureNamespace(site.client, 'app2');
    await create(
      site.client,
      Resources.import,
      crd('Import', 'app2', 'first', { port: 80, targetPort: 21500, sources: source }),
    );
    await waitForCondition(
      site.client,
      Resources.import,
      'app2',
      'first',
      Condition.importTargetPortValid,
      'True',
    );
    await create(
      site.client,
      Resources.import,
      crd('Import', 'app2', 'second', { port: 80, targetPort: 21500, sources: source }),
    );
    const second = await waitForCondition<Import>(
      site.client,
      Resources.import,
      'app2',
      'second',
      Condition.importTargetPortValid,
      'False',
      'PortConflict',
    );
    expect(
      second.status?.conditions?.find((c) => c.type === Condition.importTargetPortValid)?.message,
    ).toContain('app2/first');
    expect(second.status?.conditions?.find((c) => c.type === Condition.importServiceValid)).toMatchObject({
      status: 'False',
      reason: 'TargetPortInvalid',
    });
    expect(await read(site.client, Resources.service, 'app2', 'second')).toBeUndefined();
    const events = await eventually(async () => {
      const ev = await eventsFor(site.client, 'app2', 'second');
      return ev.some((e) => e.reason === 'PortConflict' && e.type === 'Warning') ? ev : undefined;
    }, 'PortConflict event');
    expect(events.length).toBeGreaterThan(0);

    // The holder goes: the port frees up and the second Import takes it.
    await remove(site.client, Resources.import, 'app2', 'first');
    await waitForCondition(
      site.client,
      Resources.import,
      'app2',
      'second',
      Condition.importTargetPortValid,
      'True',
    );
    await waitForCondition(
      site.client,
      Resources.import,
      'app2',
      'second',
      Condition.importServiceValid,
      'True',
    );
    expect(await read(site.client, Resources.service, 'app2', 'first')).toBeUndefined();
  });

  it('refuses the gateway port as a target port', async () => {
    await create(
      site.client,
      Resources.import,
      crd('Import', 'app2', 'gw', { port: 80, targetPort: 8443, sources: source }),
    );
    await waitForCondition(
      site.client,
      Resources.import,
      'app2',
      'gw',
      Condition.importTargetPortValid,
      'False',
      'PortReserved',
    );
  });

  it('never overwrites a user Service of the same name, and takes over once it is gone', async () => {
    await ensureNamespace(site.client, 'app3');
    await create<Service>(site.client, Resources.service, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace: 'app3', labels: { owner: 'user' } },
      spec: { selector: { app: 'db' }, ports: [{ name: 'sql', port: 5432 }] },
    });
    await create(site.client, Resources.import, crd('Import', 'app3', 'db', { port: 5432, sources: source }));
    await waitForCondition(
      site.client,
      Resources.import,
      'app3',
      'db',
      Condition.importServiceValid,
      'False',
      'ServiceConflict',
    );
    const svc = await read<Service>(site.client, Resources.service, 'app3', 'db');
    expect(svc?.metadata?.labels).toEqual({ owner: 'user' });
    expect(svc?.spec?.selector).toEqual({ app: 'db' });
    expect(await slice('app3', 'db')).toBeUndefined();

    await remove(site.client, Resources.service, 'app3', 'db');
    await waitForCondition(
      site.client,
      Resources.import,
      'app3',
      'db',
      Condition.importServiceValid,
      'True',
      'ServiceReady',
    );
    const ours = await read<Service>(site.client, Resources.service, 'app3', 'db');
    expect(ours?.metadata?.labels?.[MANAGED_BY_LABEL]).toBe('clusterlink.net');
  });

  it('merge mode adds an EndpointSlice to the user Service and leaves the Service alone', async () => {
    await ensureNamespace(site.client, 'app4');
    await create<Service>(site.client, Resources.service, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'reviews', namespace: 'app4' },
      spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
    });
    await create(
      site.client,
      Resources.import,
      crd('Import', 'app4', 'reviews', { port: 9080, sources: source }, { [IMPORT_MERGE_LABEL]: 'true' }),
    );
    const imp = await waitForCondition<Import>(
      site.client,
      Resources.import,
      'app4',
      'reviews',
      Condition.importServiceValid,
      'True',
      'ServiceMerged',
    );
    const svc = await read<Service>(site.client, Resources.service, 'app4', 'reviews');
    expect(svc?.metadata?.labels?.[MANAGED_BY_LABEL]).toBeUndefined();
    expect(svc?.spec?.selector).toEqual({ app: 'reviews' });
    const es = await slice('app4', 'reviews');
    expect(es?.metadata?.labels?.['kubernetes.io/service-name']).toBe('reviews');
    expect(es?.ports).toEqual([expect.objectContaining({ name: 'http', port: imp.spec.targetPort })]);

    // Deleting the merge Import removes only our slice.
    await remove(site.client, Resources.import, 'app4', 'reviews');
    await eventually(async () => (await slice('app4', 'reviews')) === undefined, 'merged slice removed');
    expect(await read(site.client, Resources.service, 'app4', 'reviews')).toBeDefined();
  });

  it('leaves an EndpointSlice of our name that is not ours alone and says so', async () => {
    await ensureNamespace(site.client, 'app5');
    await create<EndpointSlice>(site.client, Resources.endpointSlice, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'cache-clusterlink', namespace: 'app5', labels: { owner: 'user' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.5.5.5'] }],
      ports: [{ name: 'x', port: 1 }],
    });
    await create(
      site.client,
      Resources.import,
      crd('Import', 'app5', 'cache', { port: 6379, sources: source }),
    );
    const imp = await waitForCondition<Import>(
      site.client,
      Resources.import,
      'app5',
      'cache',
      Condition.importServiceValid,
      'False',
      'EndpointSliceConflict',
    );
    expect(imp.status?.conditions?.find((c) => c.type === Condition.importServiceValid)?.message).toContain(
      'app5/cache-clusterlink',
    );
    const slice = await read<EndpointSlice>(
      site.client,
      Resources.endpointSlice,
      'app5',
      'cache-clusterlink',
    );
    expect(slice?.metadata?.labels).toEqual({ owner: 'user' });
    expect(slice?.endpoints.map((e) => e.addresses[0])).toEqual(['10.5.5.5']);
  });

  it('merge mode without the user Service says so', async () => {
    await create(
      site.client,
      Resources.import,
      crd('Import', 'app4', 'missing', { port: 1234, sources: source }, { [IMPORT_MERGE_LABEL]: 'true' }),
    );
    await waitForCondition(
      site.client,
      Resources.import,
      'app4',
      'missing',
      Condition.importServiceValid,
      'False',
      'ServiceNotFound',
    );
  });

  it('recreates a Service and an EndpointSlice deleted by hand', async () => {
    const before = await read<Service>(site.client, Resources.service, 'app1', 'echo');
    await remove(site.client, Resources.service, 'app1', 'echo');
    await eventually(async () => {
      const s = await read<Service>(site.client, Resources.service, 'app1', 'echo');
      return s && s.metadata?.uid !== before?.metadata?.uid;
    }, 'Service recreated');
    const sliceBefore = await slice('app1', 'echo');
    await remove(site.client, Resources.endpointSlice, 'app1', 'echo-clusterlink');
    await eventually(async () => {
      const s = await slice('app1', 'echo');
      return s && s.metadata?.uid !== sliceBefore?.metadata?.uid;
    }, 'EndpointSlice recreated');
  });

  it('puts a changed port into the Service', async () => {
    await site.client.mergePatch('/apis/clusterlink.net/v1alpha1/namespaces/app1/imports/echo', {
      spec: { port: 8081 },
    });
    await eventually(async () => {
      const s = await read<Service>(site.client, Resources.service, 'app1', 'echo');
      return s?.spec?.ports?.[0]?.port === 8081;
    }, 'Service port updated');
    await waitForCondition(
      site.client,
      Resources.import,
      'app1',
      'echo',
      Condition.importServiceValid,
      'True',
    );
  });

  it('removes the Service and EndpointSlice when the Import is deleted', async () => {
    await remove(site.client, Resources.import, 'app1', 'echo');
    await eventually(
      async () => (await read(site.client, Resources.service, 'app1', 'echo')) === undefined,
      'Service gone',
    );
    await eventually(async () => (await slice('app1', 'echo')) === undefined, 'EndpointSlice gone');
  });

  it('puts every valid Import into the snapshot with its target port', async () => {
    const imp = await read<Import>(site.client, Resources.import, 'app3', 'db');
    const snap = await eventually(() => {
      const s = cp.snapshots.snapshot;
      return s?.imports.some((i) => i.namespace === 'app3' && i.name === 'db') ? s : undefined;
    }, 'snapshot with app3/db');
    expect(snap.imports.find((i) => i.name === 'db')).toEqual({
      name: 'db',
      namespace: 'app3',
      listenHost: '0.0.0.0',
      listenPort: imp!.spec.targetPort,
      lbScheme: 'round-robin',
      sources: source,
      labels: {},
    });
    // The Import refused for its port is not served.
    expect(snap.imports.some((i) => i.name === 'gw')).toBe(false);
  });

  it('cleans up after an Import deleted while no controller ran', async () => {
    await ensureNamespace(site.client, 'app6');
    await create(site.client, Resources.import, crd('Import', 'app6', 'late', { port: 80, sources: source }));
    await waitForCondition(
      site.client,
      Resources.import,
      'app6',
      'late',
      Condition.importServiceValid,
      'True',
    );
    await cp.close();
    await remove(site.client, Resources.import, 'app6', 'late');
    expect(await read(site.client, Resources.service, 'app6', 'late')).toBeDefined();
    cp = await startControlPlane();
    await eventually(
      async () => (await read(site.client, Resources.service, 'app6', 'late')) === undefined,
      'Service gone',
    );
    await eventually(async () => (await slice('app6', 'late')) === undefined, 'EndpointSlice gone');
  });
});
