/**
 * Leader election between real control-plane processes sharing one API server: one leads (it
 * writes), every one serves snapshots; when the leader is killed the other takes over within
 * seconds and converges new work; a leader that stops gracefully hands over at once; a data-plane
 * client of a dead replica keeps its last snapshot.
 */
import * as path from 'node:path';
import { Condition } from '../../kernel/api/labels';
import type { KubeObject } from '../../controller/k8s/object';
import { Resources } from '../../controller/k8s/resources';
import type { LeaseSpec } from '../../controller/leader/lease';
import { SnapshotClient } from '../../controller/snapshot/client';
import { startTestCluster, type TestCluster } from '../harness/cluster';
import { spawnManaged, stopAllProcesses, type ManagedProcess } from '../harness/procs';
import {
  create,
  crd,
  ensureNamespace,
  eventually,
  GATEWAY_NS,
  prepareSite,
  read,
  waitForCondition,
  type Site,
} from './controller-helpers';

jest.setTimeout(120_000);

const SOURCES = [{ peer: 'west', exportName: 'echo', exportNamespace: 'apps' }];
const repo = path.resolve(__dirname, '..', '..');
let cluster: TestCluster;
let site: Site;
const clients: SnapshotClient[] = [];

interface Replica {
  readonly identity: string;
  readonly proc: ManagedProcess;
  readonly snapshotPort: number;
}

async function startReplica(identity: string): Promise<Replica> {
  const proc = spawnManaged(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', 'cli/main.ts', 'controlplane'],
    {
      name: identity,
      cwd: repo,
      env: {
        KUBECONFIG: cluster.kubeconfigPath,
        CL_NAMESPACE: GATEWAY_NS,
        CL_CERT_DIR: site.certDir,
        CL_IDENTITY: identity,
        CL_ADMIN_PORT: '0',
        CL_SNAPSHOT_PORT: '0',
        CL_LEASE_RETRY_MS: '500',
        CL_LOG_LEVEL: 'info',
        CLUSTERLINK_LOG_LEVEL: 'info',
        TS_NODE_PROJECT: path.join(repo, 'tsconfig.json'),
      },
    },
  );
  const match = await proc.waitForOutput(/"snapshots":\{"host":"[^"]*","port":(\d+)\}/, 60_000);
  return { identity, proc, snapshotPort: Number(match[1]) };
}

async function holder(): Promise<string> {
  const lease = await read<KubeObject & { spec?: LeaseSpec }>(
    site.client,
    Resources.lease,
    GATEWAY_NS,
    'cl-controlplane',
  );
  return lease?.spec?.holderIdentity ?? '';
}

function snapshotClient(port: number): SnapshotClient {
  const c = new SnapshotClient({
    host: '127.0.0.1',
    port,
    tls: site.tls,
    peerName: 'east',
    requestTimeoutMs: 5000,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  cluster = await startTestCluster({ name: 'controller-leader' });
  site = await prepareSite(cluster);
  await ensureNamespace(site.client, 'apps');
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await stopAllProcesses();
  site?.client.close();
  await cluster?.stop();
}, 60_000);

describe('leader election', () => {
  it('moves leadership within seconds when the leader dies, and hands over at once on a graceful stop', async () => {
    const [a, b] = await Promise.all([startReplica('cp-a'), startReplica('cp-b')]);
    const replicas = new Map([a, b].map((r) => [r.identity, r]));
    const first = await eventually(
      async () => {
        const h = await holder();
        return replicas.has(h) ? h : undefined;
      },
      'a leader',
      30_000,
    );
    const leader = replicas.get(first)!;
    const follower = leader === a ? b : a;

    // Every replica serves snapshots, with the one shared token key.
    const fromLeader = snapshotClient(leader.snapshotPort);
    const fromFollower = snapshotClient(follower.snapshotPort);
    const [s1, s2] = await Promise.all([
      fromLeader.waitForSnapshot(30_000),
      fromFollower.waitForSnapshot(30_000),
    ]);
    expect(s1.tokenKey).toBe(s2.tokenKey);

    await create(site.client, Resources.import, crd('Import', 'apps', 'one', { port: 80, sources: SOURCES }));
    await waitForCondition(
      site.client,
      Resources.import,
      'apps',
      'one',
      Condition.importServiceValid,
      'True',
      undefined,
      30_000,
    );

    await eventually(
      () => fromLeader.snapshot?.imports.some((i) => i.name === 'one'),
      'Import one served',
      30_000,
    );
    const lastFromLeader = fromLeader.snapshot;

    // The leader dies without a word: the follower takes over once the lease expires.
    const killedAt = Date.now();
    await leader.proc.kill();
    await eventually(async () => (await holder()) === follower.identity, 'follower leading', 30_000);
    const failoverMs = Date.now() - killedAt;
    console.log(`leader failover after SIGKILL: ${failoverMs} ms`);
    expect(failoverMs).toBeLessThan(15_000);

    // The data-plane client of the dead replica keeps serving on its last snapshot.
    expect(fromLeader.snapshot).toBe(lastFromLeader);

    await create(site.client, Resources.import, crd('Import', 'apps', 'two', { port: 80, sources: SOURCES }));
    await waitForCondition(
      site.client,
      Resources.import,
      'apps',
      'two',
      Condition.importServiceValid,
      'True',
      undefined,
      30_000,
    );
    await eventually(
      () => fromFollower.snapshot?.imports.some((i) => i.name === 'two'),
      'the new Import in the surviving replica snapshot',
      30_000,
    );

    // A graceful stop releases the lease: a new replica leads without waiting for expiry.
    const c = await startReplica('cp-c');
    await snapshotClient(c.snapshotPort).waitForSnapshot(30_000);
    const stoppedAt = Date.now();
    await follower.proc.stop(10_000);
    await eventually(async () => (await holder()) === 'cp-c', 'cp-c leading', 30_000);
    console.log(`leader handover after SIGTERM: ${Date.now() - stoppedAt} ms`);
    await create(
      site.client,
      Resources.import,
      crd('Import', 'apps', 'three', { port: 80, sources: SOURCES }),
    );
    await waitForCondition(
      site.client,
      Resources.import,
      'apps',
      'three',
      Condition.importServiceValid,
      'True',
      undefined,
      30_000,
    );
  });
});
