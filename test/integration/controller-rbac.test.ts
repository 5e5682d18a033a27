/**
 * The control plane runs with exactly the RBAC the shipped gateway manifest grants
 * (dist/clusterlink-gateway.yaml), as the cl-controlplane ServiceAccount: every informer lists and
 * watches without a restart, and it writes what it must (Lease, token-key Secret, Service,
 * EndpointSlice, allocated port, status, Events).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Condition } from '../../kernel/api/labels';
import { isAlreadyExists, isNotFound } from '../../controller/k8s/errors';
import type { KubeObject } from '../../controller/k8s/object';
import { KubeClient } from '../../controller/k8s/client';
import { collectionPath, objectPath, Resources } from '../../controller/k8s/resources';
import { runControlPlane, type ControlPlane } from '../../controller/main';
import { startTestCluster, type TestCluster } from '../harness/cluster';
import {
  create,
  createDataplanePod,
  crd,
  ensureNamespace,
  eventually,
  eventsFor,
  GATEWAY_NS,
  prepareSite,
  read,
  waitForCondition,
  type Site,
} from './controller-helpers';

jest.setTimeout(120_000);

const RBAC_PATHS: Record<string, (ns?: string) => string> = {
  Namespace: () => '/api/v1/namespaces',
  ServiceAccount: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
  ClusterRole: () => '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: () => '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
  Role: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
  RoleBinding: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
};

let cluster: TestCluster;
let site: Site;
let cp: ControlPlane | undefined;

beforeAll(async () => {
  cluster = await startTestCluster({ name: 'controller-rbac' });
  site = await prepareSite(cluster);
  const manifest = fs.readFileSync(
    path.resolve(__dirname, '..', '..', 'dist', 'clusterlink-gateway.yaml'),
    'utf8',
  );
  const objects = parseAllDocuments(manifest)
    .map((d) => d.toJS() as KubeObject)
    .filter((o) => o && RBAC_PATHS[o.kind!]);
  expect(
    objects.filter((o) => o.metadata?.name?.startsWith('cl-controlplane')).length,
  ).toBeGreaterThanOrEqual(5);
  for (const o of objects) {
    try {
      await site.client.create(RBAC_PATHS[o.kind!]!(o.metadata?.namespace), o);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
  await createDataplanePod(site.client, 'cl-dataplane-0', '10.0.0.31');
}, 120_000);

afterAll(async () => {
  await cp?.close();
  site?.client.close();
  await cluster?.stop();
}, 60_000);

describe('least-privilege RBAC', () => {
  it('runs as the cl-controlplane ServiceAccount with the shipped roles', async () => {
    const identity = await cluster.kubeconfigForServiceAccount(GATEWAY_NS, 'cl-controlplane');
    // RBAC objects reach the API server's authorizer through its own informers: wait until the
    // new bindings are in effect, so a 403 later can only mean a missing rule.
    const asServiceAccount = new KubeClient(identity.kubeConfig);
    await eventually(async () => {
      await asServiceAccount.request('GET', collectionPath(Resources.pod));
      try {
        await asServiceAccount.request('GET', objectPath(Resources.lease, GATEWAY_NS, 'cl-controlplane'));
      } catch (err) {
        if (!isNotFound(err)) throw err; // allowed to look, nothing there yet
      }
      return true;
    }, 'RBAC in effect');
    asServiceAccount.close();
    cp = await runControlPlane({
      kubeConfig: identity.kubeConfig,
      tls: site.tls,
      adminPort: 0,
      snapshotPort: 0,
      leaseRetryMs: 200,
      peerMonitor: () => ({ setPeers: () => undefined, verdict: () => undefined, close: () => undefined }),
    });
    await eventually(() => cp!.isLeader(), 'leadership', 30_000);
    await eventually(() => cp!.snapshots.snapshot, 'a snapshot (token key Secret created and read)', 30_000);

    await ensureNamespace(site.client, 'apps');
    await create(
      site.client,
      Resources.export,
      crd('Export', 'apps', 'api', { host: 'api.example', port: 443 }),
    );
    await create(
      site.client,
      Resources.import,
      crd('Import', 'apps', 'db', {
        port: 5432,
        sources: [{ peer: 'west', exportName: 'db', exportNamespace: 'apps' }],
      }),
    );
    await create(
      site.client,
      Resources.peer,
      crd('Peer', GATEWAY_NS, 'west', { gateways: [{ host: '127.0.0.1', port: 1 }] }),
    );
    await waitForCondition(
      site.client,
      Resources.import,
      'apps',
      'db',
      Condition.importServiceValid,
      'True',
      'ServiceReady',
      30_000,
    );
    await waitForCondition(
      site.client,
      Resources.export,
      'apps',
      'api',
      Condition.exportValid,
      'True',
      'HostSet',
      30_000,
    );
    await waitForCondition(
      site.client,
      Resources.peer,
      GATEWAY_NS,
      'west',
      Condition.peerReachable,
      'Unknown',
      'Pending',
      30_000,
    );
    expect(await read(site.client, Resources.endpointSlice, 'apps', 'db-clusterlink')).toBeDefined();
    expect(await read(site.client, Resources.lease, GATEWAY_NS, 'cl-controlplane')).toBeDefined();
    await eventually(
      async () => (await eventsFor(site.client, 'apps', 'db')).length > 0,
      'an Event on the Import',
    );

    // Nothing was forbidden. (Restarts for other reasons are fine: a freshly installed CRD's
    // storage may answer 429 "storage is (re)initializing" for a moment, and the informer retries.)
    for (const inf of cp.cache.all) {
      const denied = (inf.failuresByStatus.get(401) ?? 0) + (inf.failuresByStatus.get(403) ?? 0);
      expect({ resource: inf.resource.plural, denied }).toEqual({ resource: inf.resource.plural, denied: 0 });
      expect(inf.hasSynced()).toBe(true);
    }
    const metrics = await cp.metrics.registry.getSingleMetricAsString(
      'clusterlink_controlplane_reconciles_total',
    );
    expect(metrics).not.toMatch(/result="(error|terminal)"/);
  });
});
