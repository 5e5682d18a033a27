/**
 * The test cluster is a real Kubernetes API server: objects are stored and read back, watches
 * stream events, RBAC is enforced, kubectl talks to it, and no server outlives its test process.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppsV1Api, CoreV1Api, VersionApi, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import {
  envtestKubernetesVersion,
  startTestCluster,
  useTestCluster,
  type TestCluster,
} from '../harness/cluster';
import { kubectl, kubectlOk } from '../harness/kubectl';

jest.setTimeout(60_000);

const cluster = useTestCluster({ name: 'envtest-basics' });

async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('test cluster', () => {
  it('reports the Kubernetes version it was built from', async () => {
    const info = await cluster().kubeConfig.makeApiClient(VersionApi).getCode();
    expect(info.gitVersion).toBe(envtestKubernetesVersion());
    const out = await kubectlOk(cluster(), ['version', '-o', 'json']);
    expect(JSON.parse(out).serverVersion.gitVersion).toBe(envtestKubernetesVersion());
  });

  it('stores a Namespace, a Service and a Deployment and reads them back', async () => {
    const core = cluster().kubeConfig.makeApiClient(CoreV1Api);
    const apps = cluster().kubeConfig.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: 'stored', labels: { purpose: 'roundtrip' } } } });
    await core.createNamespacedService({
      namespace: 'stored',
      body: {
        metadata: { name: 'echo' },
        spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    await apps.createNamespacedDeployment({
      namespace: 'stored',
      body: {
        metadata: { name: 'echo' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'echo' } },
          template: {
            metadata: { labels: { app: 'echo' } },
            spec: {
              containers: [
                { name: 'echo', image: 'registry.invalid/echo:1', ports: [{ containerPort: 8080 }] },
              ],
            },
          },
        },
      },
    });

    const ns = await core.readNamespace({ name: 'stored' });
    expect(ns.metadata?.labels).toMatchObject({
      purpose: 'roundtrip',
      'kubernetes.io/metadata.name': 'stored',
    });
    const svc = await core.readNamespacedService({ namespace: 'stored', name: 'echo' });
    expect(svc.spec?.ports).toEqual([
      expect.objectContaining({ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }),
    ]);
    // Allocated by the API server from --service-cluster-ip-range: proof a real allocator ran.
    expect(svc.spec?.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    const deploy = await apps.readNamespacedDeployment({ namespace: 'stored', name: 'echo' });
    expect(deploy.spec?.replicas).toBe(2);
    expect(deploy.spec?.strategy?.type).toBe('RollingUpdate'); // defaulted by the server
    expect(deploy.metadata?.generation).toBe(1);

    const listed = await kubectlOk(cluster(), ['get', 'deployments,services', '-n', 'stored', '-o', 'name']);
    expect(listed.trim().split('\n').sort()).toEqual(['deployment.apps/echo', 'service/echo']);
  });

  it('rejects an invalid built-in object with the server validation message', async () => {
    const core = cluster().kubeConfig.makeApiClient(CoreV1Api);
    await expect(
      core.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'bad' }, spec: { ports: [{ port: 70000 }] } },
      }),
    ).rejects.toMatchObject({ code: 422, body: expect.stringContaining('must be between 1 and 65535') });
  });

  it('streams ADDED, MODIFIED and DELETED events to a watch', async () => {
    const core = cluster().kubeConfig.makeApiClient(CoreV1Api);
    const events: { type: string; name?: string; value?: string }[] = [];
    const watch = new Watch(cluster().kubeConfig);
    let watchEnded: unknown;
    const controller = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { labelSelector: 'watched=yes' },
      (type: string, obj: V1ConfigMap) =>
        events.push({ type, name: obj.metadata?.name, value: obj.data?.value }),
      (err) => {
        watchEnded = err ?? 'ended';
      },
    );
    try {
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'watched', labels: { watched: 'yes' } }, data: { value: 'one' } },
      });
      await core.patchNamespacedConfigMap({
        namespace: 'default',
        name: 'watched',
        body: [{ op: 'replace', path: '/data/value', value: 'two' }],
      });
      await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'watched' });
      await waitFor(() => events.length >= 3, 10_000, 'three watch events');
      expect(events).toEqual([
        { type: 'ADDED', name: 'watched', value: 'one' },
        { type: 'MODIFIED', name: 'watched', value: 'two' },
        { type: 'DELETED', name: 'watched', value: 'two' },
      ]);
      expect(watchEnded).toBeUndefined();
    } finally {
      controller.abort();
    }
  });

  it('enforces RBAC: a user without bindings is refused until a Role allows it', async () => {
    const admin = cluster();
    const alice = await admin.kubeconfigForUser('alice', ['developers']);
    const aliceCore = alice.kubeConfig.makeApiClient(CoreV1Api);
    await expect(aliceCore.listNamespacedConfigMap({ namespace: 'default' })).rejects.toMatchObject({
      code: 403,
      body: expect.stringContaining('User \\"alice\\" cannot list resource \\"configmaps\\"'),
    });

    await kubectlOk(admin, [
      'create',
      'role',
      'cm-reader',
      '-n',
      'default',
      '--verb=get,list',
      '--resource=configmaps',
    ]);
    await kubectlOk(admin, [
      'create',
      'rolebinding',
      'cm-reader',
      '-n',
      'default',
      '--role=cm-reader',
      '--group=developers',
    ]);
    // RBAC reads bindings from an informer: the new binding can take a moment to arrive.
    let listed = false;
    for (let i = 0; i < 50 && !listed; i++) {
      listed = await aliceCore.listNamespacedConfigMap({ namespace: 'default' }).then(
        () => true,
        () => false,
      );
      if (!listed) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(listed).toBe(true);
    // Still nothing outside the Role.
    await expect(aliceCore.listNamespacedSecret({ namespace: 'default' })).rejects.toMatchObject({
      code: 403,
    });
    const can = await kubectl(alice, ['auth', 'can-i', 'delete', 'configmaps', '-n', 'default']);
    expect(can.stdout.trim()).toBe('no');
  });

  it('issues ServiceAccount tokens the server authenticates', async () => {
    const sa = await cluster().kubeconfigForServiceAccount('default', 'robot');
    const out = await kubectlOk(sa, ['auth', 'whoami', '-o', 'json']);
    expect(JSON.parse(out).status.userInfo.username).toBe('system:serviceaccount:default:robot');
    await expect(sa.kubeConfig.makeApiClient(CoreV1Api).listNamespace()).rejects.toMatchObject({ code: 403 });
  });
});

describe('test cluster lifecycle', () => {
  it('runs two clusters side by side with separate storage and stops them cleanly', async () => {
    const east = await startTestCluster({ name: 'east' });
    const west = await startTestCluster({ name: 'west' }).catch(async (err) => {
      await east.stop();
      throw err;
    });
    try {
      expect(east.url).not.toBe(west.url);
      const eastCore = east.kubeConfig.makeApiClient(CoreV1Api);
      const westCore = west.kubeConfig.makeApiClient(CoreV1Api);
      await eastCore.createNamespace({ body: { metadata: { name: 'only-in-east' } } });
      await expect(westCore.readNamespace({ name: 'only-in-east' })).rejects.toMatchObject({ code: 404 });
      expect((await eastCore.readNamespace({ name: 'only-in-east' })).metadata?.name).toBe('only-in-east');
      for (const c of [east, west]) {
        const m = c.memory();
        console.log(
          `test cluster ${c.name}: ready in ${c.startupMs} ms; RSS etcd ${mib(m.etcd)} MiB + kube-apiserver ${mib(m.apiServer)} MiB = ${mib(m.total)} MiB`,
        );
        expect(m.apiServer).toBeGreaterThan(0);
      }
    } finally {
      await Promise.all([east.stop(), west.stop()]);
    }
    for (const c of [east, west]) {
      expect(alive(c.pids.etcd)).toBe(false);
      expect(alive(c.pids.apiServer)).toBe(false);
      expect(fs.existsSync(c.dir)).toBe(false);
    }
  }, 180_000);

  it('leaves no server behind when the test process is killed', async () => {
    // A separate Node process starts a cluster, reports its pids, and is then SIGKILLed: no
    // exit hook can run, so only the watchdog stands between us and orphaned servers.
    const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'envtest-orphan-')), 'start.ts');
    fs.writeFileSync(
      script,
      [
        `import { startTestCluster } from ${JSON.stringify(path.resolve(__dirname, '..', 'harness', 'cluster'))};`,
        `startTestCluster({ name: 'orphan' }).then((c) => {`,
        `  process.stdout.write(JSON.stringify({ pids: c.pids, dir: c.dir }) + '\\n');`,
        `  setInterval(() => undefined, 1000);`,
        `});`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TS_NODE_PROJECT: path.resolve(__dirname, '..', '..', 'tsconfig.json') },
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]);
        });
        child.once('exit', (code) => reject(new Error(`cluster process exited early (${code})`)));
      });
      const started = JSON.parse(line) as { pids: TestCluster['pids']; dir: string };
      expect(alive(started.pids.etcd) && alive(started.pids.apiServer)).toBe(true);

      child.kill('SIGKILL');
      await waitFor(
        () => !alive(started.pids.etcd) && !alive(started.pids.apiServer) && !fs.existsSync(started.dir),
        15_000,
        'the watchdog to end the orphaned servers and remove their folder',
      );
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(path.dirname(script), { recursive: true, force: true });
    }
  }, 180_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0 until reaped; it is no longer running.
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
