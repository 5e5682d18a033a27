/**
 * One ClusterLink site of the end-to-end suite, run the way a user runs it in Kubernetes mode:
 *
 * - its own API server (etcd + kube-apiserver from test/harness/cluster.ts) in the root namespace
 *   on loopback, with our CRDs from dist/;
 * - the control plane and the data plane as separate processes (`node lib/cli/main.js
 *   controlplane|dataplane`) inside the site's network namespace, configured by the documented
 *   environment (KUBECONFIG, CL_NAMESPACE, CL_CERT_DIR, CL_PEER_LABELS, CL_CONTROLPLANE,
 *   CL_GATEWAY_PORT, CL_ADMIN_PORT) and the site's certificates in CL_CERT_DIR;
 * - the API server is reached from inside the namespace through a Unix-socket bridge
 *   (forward.js on 127.0.0.1:<api port> in the namespace -> socket file -> forward.js in the root
 *   namespace -> 127.0.0.1:<api port>), so the kubeconfig works unchanged and no route between
 *   the namespaces exists: the gateway port stays the only thing that crosses sites;
 * - Pod objects stand for the data-plane process and for client workloads (nothing schedules
 *   Pods in the test API server): their status.podIP is one of the site's pod addresses, written
 *   through the status subresource, so the controller's Services/EndpointSlices and client
 *   attributes refer to real objects.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import type { CertificateAndKey } from '../../../cli/pki/certificates';
import { startTestCluster, type TestCluster } from '../../harness/cluster';
import { installCrds } from '../../harness/crds';
import { FORWARD_SCRIPT } from '../../harness/backends';
import { podAddress, type Fabric, type SiteNetwork } from '../../harness/netns';
import { run, spawnManaged, type ManagedProcess } from '../../harness/procs';

export const GATEWAY_NAMESPACE = 'clusterlink-system';
/** The gateway Service port other sites connect to (the Peer's gateway port). */
export const GATEWAY_PORT = 443;
/** The data plane's gateway container port; replica i listens on +i. */
export const DATAPLANE_GATEWAY_PORT = 8443;
export const CONTROLPLANE_PORT = 9444;
export const CONTROLPLANE_ADMIN_PORT = 9090;
/** Admin port of data-plane replica 0; replica i uses +i. */
export const DATAPLANE_ADMIN_PORT = 9091;
/** Pod host number of data-plane replica 0 (`${podPrefix}.2`); replica i is .2+i. */
export const DATAPLANE_POD_HOST = 2;

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
/** The `clusterlink` entry point the processes run; CLUSTERLINK_E2E_CLI points at another build. */
export const CLI = process.env.CLUSTERLINK_E2E_CLI ?? path.join(repoRoot, 'lib', 'cli', 'main.js');

export interface SiteOptions {
  readonly net: SiteNetwork;
  /** Peer name (first DNS SAN of the certificate). */
  readonly peerName: string;
  readonly peerLabels?: Readonly<Record<string, string>>;
  readonly certs: { readonly ca: string; readonly peer: CertificateAndKey };
  /** Folder for this site's files (certificates, kubeconfig, logs). */
  readonly dir: string;
}

export class Site {
  readonly net: SiteNetwork;
  readonly peerName: string;
  readonly dir: string;
  readonly certDir: string;
  /** The certificate the site started with (scenarios that swap certificates restore it). */
  readonly originalPeerCert: CertificateAndKey;
  /** The fabric CA the site started with. */
  readonly originalCa: string;
  cluster!: TestCluster;
  objects!: KubernetesObjectApi;
  core!: CoreV1Api;
  controlPlane: ManagedProcess | undefined;
  /** Data-plane replicas by index (replica 0 is the one clients use). */
  readonly dataPlanes: (ManagedProcess | undefined)[] = [];
  private readonly peerLabels: Readonly<Record<string, string>>;
  private readonly bridges: ManagedProcess[] = [];
  private siteBridge: ManagedProcess | undefined;
  private starts = 0;
  private certVersion = 0;
  private apiServerPid: number | undefined;
  /** Command line of the API server, kept so that it can be started again after a stop. */
  private apiServerArgv: string[] | undefined;
  /** Data-plane replicas the gateway Service currently spreads over. */
  private gatewayReplicas = 0;

  constructor(options: SiteOptions) {
    this.net = options.net;
    this.peerName = options.peerName;
    this.peerLabels = options.peerLabels ?? {};
    this.dir = options.dir;
    this.certDir = path.join(options.dir, 'certs');
    fs.mkdirSync(this.certDir, { recursive: true });
    this.originalPeerCert = options.certs.peer;
    this.originalCa = options.certs.ca;
    this.writeCerts(options.certs.ca, options.certs.peer);
  }

  get gatewayAddress(): { host: string; port: number } {
    return { host: this.net.fabricAddress, port: GATEWAY_PORT };
  }

  get dataPlane(): ManagedProcess | undefined {
    return this.dataPlanes[0];
  }

  /** Address where the data plane's import listeners are reached from inside the site. */
  get dataPlaneAddress(): string {
    return podAddress(this.net, DATAPLANE_POD_HOST);
  }

  /**
   * Replaces the certificates the processes read, atomically the way the kubelet updates a
   * mounted Secret: files are written into a fresh `..<n>` folder, then the `..data` symlink is
   * renamed over, and ca.pem/cert.pem/key.pem are symlinks through `..data`.
   */
  writeCerts(ca: string, peer: CertificateAndKey): void {
    const version = `..${++this.certVersion}`;
    const target = path.join(this.certDir, version);
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'ca.pem'), ca);
    fs.writeFileSync(path.join(target, 'cert.pem'), peer.cert);
    fs.writeFileSync(path.join(target, 'key.pem'), peer.key, { mode: 0o600 });
    const tmpLink = path.join(this.certDir, '..data_tmp');
    fs.rmSync(tmpLink, { force: true });
    fs.symlinkSync(version, tmpLink);
    fs.renameSync(tmpLink, path.join(this.certDir, '..data'));
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) {
      const link = path.join(this.certDir, file);
      if (!fs.existsSync(link)) fs.symlinkSync(path.join('..data', file), link);
    }
    if (this.certVersion > 1)
      fs.rmSync(path.join(this.certDir, `..${this.certVersion - 1}`), { recursive: true });
  }

  /** Whether the files in the certificate folder are the ones the site started with. */
  hasOriginalCerts(): boolean {
    const read = (file: string) => {
      try {
        return fs.readFileSync(path.join(this.certDir, file), 'utf8');
      } catch {
        return undefined;
      }
    };
    return (
      read('ca.pem') === this.originalCa &&
      read('cert.pem') === this.originalPeerCert.cert &&
      read('key.pem') === this.originalPeerCert.key
    );
  }

  /** Puts the site's own certificates back (a no-op when they are in place). */
  restoreCerts(): boolean {
    if (this.hasOriginalCerts()) return false;
    this.writeCerts(this.originalCa, this.originalPeerCert);
    return true;
  }

  /** Whether the path to the API server from inside the site is up (see pauseApiBridge). */
  get apiBridgeUp(): boolean {
    return this.siteBridge?.running === true;
  }

  /** How many data-plane replicas the gateway Service spreads over (setGatewayReplicas). */
  get gatewayReplicaCount(): number {
    return this.gatewayReplicas;
  }

  /** API server, CRDs, bridge, gateway namespace and the data-plane Pod object. */
  async startApi(): Promise<void> {
    this.cluster = await startTestCluster({ name: `e2e-${this.net.site}` });
    this.objects = KubernetesObjectApi.makeApiClient(this.cluster.kubeConfig);
    this.core = this.cluster.kubeConfig.makeApiClient(CoreV1Api);
    await installCrds(this.cluster.kubeConfig);
    await this.bridgeApiServer();
    await this.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: GATEWAY_NAMESPACE } });
    await this.createPod(GATEWAY_NAMESPACE, 'cl-dataplane-0', this.dataPlaneAddress, {
      'app.kubernetes.io/name': 'cl-dataplane',
      'app.kubernetes.io/part-of': 'clusterlink',
    });
  }

  private async bridgeApiServer(): Promise<void> {
    const port = new URL(this.cluster.url).port;
    const socket = path.join(this.dir, 'apiserver.sock');
    const root = spawnManaged('node', [FORWARD_SCRIPT, `unix:${socket}`, `tcp:127.0.0.1:${port}`], {
      name: `${this.net.site}/api-bridge-root`,
    });
    await root.waitForOutput(/forward ready/);
    this.bridges.push(root);
    await this.resumeApiBridge();
  }

  /**
   * Cuts the site's path to its API server: open connections (watches) are reset and new ones
   * refused, as the controller sees an API server that went away.
   */
  async pauseApiBridge(): Promise<void> {
    await this.siteBridge?.kill();
    this.siteBridge = undefined;
  }

  /** Restores the path cut by pauseApiBridge (no-op while it is up). */
  async resumeApiBridge(): Promise<void> {
    if (this.siteBridge?.running) return;
    const port = new URL(this.cluster.url).port;
    const socket = path.join(this.dir, 'apiserver.sock');
    const inside = spawnManaged('node', [FORWARD_SCRIPT, `tcp:127.0.0.1:${port}`, `unix:${socket}`], {
      name: `${this.net.site}/api-bridge-site`,
      netns: this.net.netns,
    });
    await inside.waitForOutput(/forward ready/);
    this.siteBridge = inside;
  }

  private env(): Record<string, string> {
    return {
      KUBECONFIG: this.cluster.kubeconfigPath,
      CL_NAMESPACE: GATEWAY_NAMESPACE,
      CL_CERT_DIR: this.certDir,
      CL_PEER_LABELS: Object.entries(this.peerLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      CL_LOG_LEVEL: process.env.CL_LOG_LEVEL ?? 'info',
      CL_GATEWAY_PORT: String(DATAPLANE_GATEWAY_PORT),
    };
  }

  private logFile(name: string): string {
    return path.join(this.dir, `${name}-${++this.starts}.log`);
  }

  async startControlPlane(): Promise<ManagedProcess> {
    const proc = spawnManaged('node', [CLI, 'controlplane'], {
      name: `${this.net.site}/controlplane`,
      netns: this.net.netns,
      env: { ...this.env(), CL_ADMIN_PORT: String(CONTROLPLANE_ADMIN_PORT) },
      logFile: this.logFile('controlplane'),
    });
    this.controlPlane = proc;
    await waitReady(proc, this.net, CONTROLPLANE_ADMIN_PORT);
    return proc;
  }

  /**
   * Starts data-plane replica `replica` (gateway container port 8443+replica). Replicas share the
   * site namespace, so only replica 0 should serve imports (their listeners would collide).
   */
  async startDataPlane(replica = 0): Promise<ManagedProcess> {
    if (replica > 0) {
      await this.createPod(
        GATEWAY_NAMESPACE,
        `cl-dataplane-${replica}`,
        podAddress(this.net, DATAPLANE_POD_HOST + replica),
        {
          'app.kubernetes.io/name': 'cl-dataplane',
          'app.kubernetes.io/part-of': 'clusterlink',
        },
      );
    }
    const proc = spawnManaged('node', [CLI, 'dataplane'], {
      name: `${this.net.site}/dataplane-${replica}`,
      netns: this.net.netns,
      env: {
        ...this.env(),
        CL_CONTROLPLANE: `127.0.0.1:${CONTROLPLANE_PORT}`,
        CL_GATEWAY_PORT: String(DATAPLANE_GATEWAY_PORT + replica),
        CL_ADMIN_PORT: String(DATAPLANE_ADMIN_PORT + replica),
      },
      logFile: this.logFile(`dataplane-${replica}`),
    });
    this.dataPlanes[replica] = proc;
    await waitReady(proc, this.net, DATAPLANE_ADMIN_PORT + replica);
    return proc;
  }

  /** The gateway Service's endpoints: replicas 0..count-1 (the DNAT kube-proxy would install). */
  async setGatewayReplicas(fabric: Fabric, count: number): Promise<void> {
    const endpoints = Array.from({ length: count }, (_, i) => ({
      host: podAddress(this.net, DATAPLANE_POD_HOST + i),
      port: DATAPLANE_GATEWAY_PORT + i,
    }));
    await fabric.setServiceEndpoints(this.net, GATEWAY_PORT, endpoints);
    this.gatewayReplicas = count;
  }

  async stopDataPlane(replica: number): Promise<void> {
    await this.dataPlanes[replica]?.stop(3_000);
    this.dataPlanes[replica] = undefined;
    if (replica > 0) {
      try {
        await this.core.deleteNamespacedPod({
          namespace: GATEWAY_NAMESPACE,
          name: `cl-dataplane-${replica}`,
        });
      } catch (err) {
        // A replica whose start failed half-way may have no Pod object yet.
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
  }

  /**
   * Restarts the site's kube-apiserver for real: the process is stopped (SIGTERM), stays down
   * for `downMs`, and is started again from its own command line (same binary, flags, port,
   * certificates and etcd), then awaited until it serves. The restarted process is ours to stop
   * (procs.ts), as the cluster harness only knows the first one.
   */
  async restartApiServer(downMs: number): Promise<void> {
    await this.stopApiServer();
    await new Promise((r) => setTimeout(r, downMs));
    await this.startApiServer();
  }

  /** The pid of the kube-apiserver serving this site now (the first one or a restarted one). */
  get apiServerProcessId(): number {
    return this.apiServerPid ?? this.cluster.pids.apiServer;
  }

  /** Stops the kube-apiserver (SIGTERM, SIGKILL after 10 s); resolves once it has exited. */
  async stopApiServer(): Promise<void> {
    const pid = this.apiServerProcessId;
    if (!fs.existsSync(`/proc/${pid}`)) return;
    this.apiServerArgv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; fs.existsSync(`/proc/${pid}`) && i < 200; i++)
      await new Promise((r) => setTimeout(r, 50));
    if (fs.existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    for (let i = 0; fs.existsSync(`/proc/${pid}`) && i < 100; i++)
      await new Promise((r) => setTimeout(r, 50));
  }

  /** Whether the kube-apiserver process of this site is alive. */
  get apiServerRunning(): boolean {
    return fs.existsSync(`/proc/${this.apiServerProcessId}`);
  }

  /**
   * Starts the kube-apiserver stopped by stopApiServer from the same command line and waits until
   * it serves (no-op while it runs).
   */
  async startApiServer(timeoutMs = 60_000): Promise<void> {
    if (this.apiServerRunning) return;
    const argv = this.apiServerArgv;
    if (!argv) throw new Error(`site ${this.net.site}: the API server was not stopped by stopApiServer`);
    const proc = spawnManaged(argv[0], argv.slice(1), {
      name: `${this.net.site}/kube-apiserver`,
      env: { GOMEMLIMIT: process.env.GOMEMLIMIT ?? '256MiB' },
      logFile: path.join(this.dir, `apiserver-${++this.starts}.log`),
    });
    this.apiServerPid = proc.pid;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.core.readNamespace({ name: GATEWAY_NAMESPACE });
        return;
      } catch (err) {
        if (!proc.running || Date.now() > deadline) {
          throw new Error(
            `kube-apiserver of site ${this.net.site} did not come back: ${proc.output().slice(-2000)}`,
            {
              cause: err,
            },
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** Server-side apply of one object (create or update). */
  async apply<T extends KubernetesObject>(object: T): Promise<T> {
    return this.objects.patch(object, undefined, undefined, 'e2e', true, PatchStrategy.ServerSideApply);
  }

  async remove(object: KubernetesObject): Promise<void> {
    try {
      await this.objects.delete(object);
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }

  async read<T extends KubernetesObject>(object: KubernetesObject): Promise<T | undefined> {
    try {
      return (await this.objects.read(object as never)) as T;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  /** A Pod object with a Running status and the given IP (a workload in this site). */
  async createPod(
    namespace: string,
    name: string,
    ip: string,
    labels: Record<string, string>,
    serviceAccount = 'default',
  ): Promise<void> {
    const body: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels },
      spec: { serviceAccountName: serviceAccount, containers: [{ name: 'main', image: 'e2e.invalid/none' }] },
    };
    try {
      await this.core.createNamespacedPod({ namespace, body });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
    const current = await this.core.readNamespacedPod({ namespace, name });
    current.status = {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: 'True' }],
    };
    await this.core.replaceNamespacedPodStatus({ namespace, name, body: current });
  }

  async ensureNamespace(name: string): Promise<void> {
    await this.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }

  /** Stops processes of this site and its API server. */
  async stop(): Promise<void> {
    await Promise.all([...this.dataPlanes, this.controlPlane].map((p) => p?.stop(3_000)));
    await Promise.all([...this.bridges, this.siteBridge].map((b) => b?.stop(1_000)));
    await this.cluster?.stop();
  }
}

/** Waits until the process answers 200 on /readyz of its admin port (probed inside the site). */
export async function waitReady(
  proc: ManagedProcess,
  net: SiteNetwork,
  adminPort: number,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running) throw new Error(`${proc.name} exited during start-up:\n${proc.output()}`);
    const probe = await run(
      'curl',
      ['-sf', '-o', '/dev/null', '--max-time', '2', `http://127.0.0.1:${adminPort}/readyz`],
      {
        netns: net.netns,
        timeoutMs: 5_000,
      },
    );
    if (probe.code === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${proc.name} not ready after ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
