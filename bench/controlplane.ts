/**
 * Control-plane benchmark (`npm run bench:controlplane`), one run, three figures:
 *  1. time from creating N Imports (N = 10, 100, 1000) to all of them having their Service and
 *     valid conditions (ImportTargetPortValid and ImportServiceValid True), against a real
 *     kube-apiserver with the controller as its own process;
 *  2. the controller's memory (resident, and V8 heap used, from its own /metrics) at each N;
 *  3. policy decision time with 10, 1,000 and 10,000 policies (bench/policy.ts).
 * Ratios against the smallest N are printed; nothing is asserted.
 *
 * The test API server harness lives in test/ (TypeScript, outside the build): it is loaded
 * through ts-node at run time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCertificateAuthority, createPeerCertificate } from '../cli/pki/certificates';
import { Condition } from '../kernel/api/labels';
import { KubeClient } from '../controller/k8s/client';
import { isAlreadyExists } from '../controller/k8s/errors';
import type { KubeConfig } from '@kubernetes/client-node';
import { collectionPath, objectPath, Resources } from '../controller/k8s/resources';
import type { Import } from '../imports/clusterlink.net.types';
import { benchmarkPolicy, formatPolicyTable } from './policy';

const SIZES = (process.env.CL_BENCH_IMPORTS ?? '10,100,1000').split(',').map(Number);
const NAMESPACE = 'clusterlink-system';

interface HarnessCluster {
  readonly kubeConfig: KubeConfig;
  readonly kubeconfigPath: string;
  memory(): { total: number };
  stop(): Promise<void>;
}

/** The repository root, from bench/ (ts-node) or lib/bench/ (compiled). */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

function loadHarness(root: string) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cluster = require(path.join(root, 'test', 'harness', 'cluster.ts')) as {
    startTestCluster(o: { name: string }): Promise<HarnessCluster>;
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crds = require(path.join(root, 'test', 'harness', 'crds.ts')) as {
    installCrds(kc: KubeConfig): Promise<string[]>;
  };
  return { ...cluster, ...crds };
}

function controllerCommand(root: string): string[] {
  const compiled = path.join(root, 'lib', 'controller', 'main.js');
  if (__filename.endsWith('.js') && fs.existsSync(compiled)) return [compiled];
  return ['-r', 'ts-node/register/transpile-only', path.join(root, 'controller', 'main.ts')];
}

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`controller did not print ${pattern} in time:\n${text.slice(-2000)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`controller exited (${code}):\n${text.slice(-2000)}`)));
  });
}

function scrape(port: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          const out: Record<string, number> = {};
          for (const line of body.split('\n')) {
            const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
            if (m) out[m[1]!] = Number(m[2]);
          }
          resolve(out);
        });
      })
      .on('error', reject);
  });
}

async function createAll(client: KubeClient, ns: string, n: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await client.create(collectionPath(Resources.import, ns), {
        apiVersion: 'clusterlink.net/v1alpha1',
        kind: 'Import',
        metadata: { name: `svc-${i}`, namespace: ns },
        spec: { port: 80, sources: [{ peer: 'west', exportName: `svc-${i}`, exportNamespace: 'default' }] },
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function allReady(client: KubeClient, ns: string, n: number): Promise<boolean> {
  const imports = await client.request<{ items: Import[] }>('GET', collectionPath(Resources.import, ns));
  const ready = imports.items.filter((i) =>
    [Condition.importTargetPortValid, Condition.importServiceValid].every(
      (t) => i.status?.conditions?.find((c) => c.type === t)?.status === 'True',
    ),
  ).length;
  if (ready < n) return false;
  const services = await client.request<{ items: unknown[] }>('GET', collectionPath(Resources.service, ns), {
    query: { labelSelector: 'app.kubernetes.io/managed-by=clusterlink.net' },
  });
  return services.items.length >= n;
}

async function main(): Promise<void> {
  const root = repoRoot();
  const harness = loadHarness(root);
  console.log(`control-plane benchmark (${os.cpus().length} CPUs, Node ${process.version})`);
  const cluster = await harness.startTestCluster({ name: 'bench-controlplane' });
  let controller: ChildProcess | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-bench-cp-'));
  try {
    await harness.installCrds(cluster.kubeConfig);
    const client = new KubeClient(cluster.kubeConfig);
    const ensureNs = async (name: string) => {
      try {
        await client.create('/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name },
        });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    };
    await ensureNs(NAMESPACE);
    for (const [i, ip] of ['10.0.0.11', '10.0.0.12'].entries()) {
      const name = `cl-dataplane-${i}`;
      await client.create(collectionPath(Resources.pod, NAMESPACE), {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NAMESPACE, labels: { 'app.kubernetes.io/name': 'cl-dataplane' } },
        spec: { containers: [{ name: 'main', image: 'bench.invalid/none' }] },
      });
      await client.mergePatch(`${objectPath(Resources.pod, NAMESPACE, name)}/status`, {
        status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
    const ca = await createCertificateAuthority({ commonName: 'fabric' });
    const peer = await createPeerCertificate(ca, 'east');
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    fs.writeFileSync(path.join(dir, 'cert.pem'), peer.cert);
    fs.writeFileSync(path.join(dir, 'key.pem'), peer.key, { mode: 0o600 });

    controller = spawn(process.execPath, controllerCommand(root), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        KUBECONFIG: cluster.kubeconfigPath,
        CL_NAMESPACE: NAMESPACE,
        CL_CERT_DIR: dir,
        CL_ADMIN_PORT: '0',
        CL_SNAPSHOT_PORT: '0',
        CL_LOG_LEVEL: 'info',
        TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
      },
    });
    const adminPort = Number(
      (await waitForOutput(controller, /"admin":\{"host":"[^"]*","port":(\d+)\}/, 120_000))[1],
    );
    // Wait for leadership (the lease) before timing anything.
    for (;;) {
      const m = await scrape(adminPort);
      if (m['clusterlink_controlplane_leader'] === 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const idle = await scrape(adminPort);
    const rows: { n: number; ms: number; rss: number; heap: number; cpu: number }[] = [];
    for (const n of SIZES) {
      const ns = `bench-${n}`;
      await ensureNs(ns);
      const cpuBefore = (await scrape(adminPort))['process_cpu_seconds_total']!;
      const started = performance.now();
      await createAll(client, ns, n);
      // Poll gently: listing 1000 Imports costs the API server too.
      while (!(await allReady(client, ns, n))) await new Promise((r) => setTimeout(r, Math.max(100, n)));
      const ms = performance.now() - started;
      const m = await scrape(adminPort);
      rows.push({
        n,
        ms,
        rss: m['process_resident_memory_bytes']!,
        heap: m['nodejs_heap_size_used_bytes']!,
        cpu: m['process_cpu_seconds_total']! - cpuBefore,
      });
      console.log(`  N=${n}: ready in ${ms.toFixed(0)} ms`);
    }
    const mib = (b: number) => (b / 1048576).toFixed(1);
    const base = rows[0]!;
    console.log(
      '\nImports to Services and valid conditions (controller as its own process, real kube-apiserver)',
    );
    console.log(
      `controller idle: RSS ${mib(idle['process_resident_memory_bytes']!)} MiB, heap ${mib(idle['nodejs_heap_size_used_bytes']!)} MiB`,
    );
    console.log(
      '      N   total ms   ms/Import   vs N=' +
        String(base.n).padEnd(5) +
        '  ctrl CPU ms/Import   RSS MiB   heap MiB   (Imports in cluster)',
    );
    let cumulative = 0;
    for (const r of rows) {
      cumulative += r.n;
      const perImport = r.ms / r.n;
      console.log(
        [
          String(r.n).padStart(7),
          r.ms.toFixed(0).padStart(10),
          perImport.toFixed(2).padStart(11),
          `${(perImport / (base.ms / base.n)).toFixed(2)}x`.padStart(10),
          ((r.cpu * 1000) / r.n).toFixed(2).padStart(19),
          mib(r.rss).padStart(9),
          mib(r.heap).padStart(10),
          `   (${cumulative})`,
        ].join(' '),
      );
    }
    console.log(`API server + etcd RSS at the end: ${mib(cluster.memory().total)} MiB`);
    client.close();
  } finally {
    controller?.kill('SIGTERM');
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nPolicy decision time (bench/policy.ts)');
  console.log(formatPolicyTable(benchmarkPolicy([10, 1_000, 10_000])));
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
