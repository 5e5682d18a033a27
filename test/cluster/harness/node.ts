/**
 * One test site that is a real single-node Kubernetes cluster, inside the site's network
 * namespace: etcd and kube-apiserver (test/harness/cluster.ts), kube-controller-manager,
 * kube-scheduler, containerd (Debian) with runc and the CNI ptp plugin, the kubelet, kube-proxy
 * (nftables mode), and CoreDNS as a Deployment. All Kubernetes binaries come from
 * test/envtest/build.sh, the images from test/cluster/images/build.sh; nothing is pulled.
 *
 * The node components authenticate with the cluster's admin certificate (a test-site shortcut;
 * what the suite checks is ClusterLink's own RBAC, which its Pods use through their
 * ServiceAccount tokens). The test process reaches the API server through the Unix-socket bridge
 * cluster.ts sets up, at the same 127.0.0.1 URL the components use inside the namespace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startTestCluster, resolveBinDir, type TestCluster } from '../../harness/cluster';
import { kubectl, KubectlError, type KubectlOptions, type KubectlResult } from '../../harness/kubectl';
import type { SiteNetwork } from '../../harness/netns';
import { runOk, spawnManaged, type ManagedProcess } from '../../harness/procs';
import { corednsImage, loadImages, pauseImage } from '../images/images';
import { killContainers, removeUnusedPodNetns, unmountBelow } from './containers';
import {
  clusterDnsManifests,
  cniConfig,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  nodeAddressing,
  openPortRule,
  type NodeAddressing,
  type NodeFolders,
} from './node-config';

export interface KubeNodeOptions {
  readonly net: SiteNetwork;
  /** Node (and cluster) name. */
  readonly name: string;
  /** Folder for this node's state and logs (created; removed by stop()). */
  readonly dir: string;
  /** @default '15s' */
  readonly kubeletSyncFrequency?: string;
}

/** Milliseconds from the start of `start()` to each milestone. */
export interface NodeStartup {
  apiServerReady: number;
  containerdReady: number;
  imagesLoaded: number;
  nodeReady: number;
  dnsReady: number;
}

export interface ComponentUsage {
  readonly name: string;
  readonly rssBytes: number;
  /** CPU seconds (user + system) since the process started. */
  readonly cpuSeconds: number;
}

const CLOCK_TICKS = 100;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function usageOf(name: string, pid: number | undefined): ComponentUsage {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const rss = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0) * 1024;
    return { name, rssBytes: rss, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
  } catch {
    return { name, rssBytes: 0, cpuSeconds: 0 };
  }
}

export class KubeNode {
  readonly name: string;
  readonly net: SiteNetwork;
  readonly addressing: NodeAddressing;
  readonly dir: string;
  readonly folders: NodeFolders;
  readonly startup: Partial<NodeStartup> = {};
  cluster!: TestCluster;
  private readonly processes = new Map<string, ManagedProcess>();
  private readonly syncFrequency: string;
  private readonly binDir = resolveBinDir();

  constructor(options: KubeNodeOptions) {
    this.name = options.name;
    this.net = options.net;
    this.addressing = nodeAddressing(options.name, options.net.index);
    this.dir = options.dir;
    this.syncFrequency = options.kubeletSyncFrequency ?? '15s';
    const under = (...parts: string[]) => path.join(this.dir, ...parts);
    this.folders = {
      containerdRoot: under('containerd', 'root'),
      containerdState: under('containerd', 'state'),
      containerdSocket: under('containerd', 'containerd.sock'),
      cniConfDir: under('cni', 'net.d'),
      cniDataDir: under('cni', 'ipam'),
      kubeletRoot: under('kubelet'),
      podLogsDir: under('pod-logs'),
      resolvConf: under('resolv.conf'),
      kubeconfig: '', // set once the API server runs
    };
  }

  /** Brings the node from nothing to Ready with cluster DNS serving; records the milestones. */
  async start(): Promise<void> {
    const t0 = Date.now();
    const mark = (key: keyof NodeStartup) => (this.startup[key] = Date.now() - t0);
    for (const folder of [this.folders.containerdRoot, this.folders.cniConfDir, this.folders.podLogsDir]) {
      fs.mkdirSync(folder, { recursive: true });
    }
    await runOk('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'], { netns: this.net.netns });

    this.cluster = await startTestCluster({
      name: `node-${this.name}`,
      netns: this.net.netns,
      advertiseAddress: this.addressing.nodeIp,
      serviceClusterIpRange: this.addressing.serviceCidr,
      servingIpAddresses: [this.addressing.nodeIp, this.addressing.apiServiceIp],
      serviceAccountAdmission: true,
      // For logs and exec: the node's name resolves nowhere here, its InternalIP does.
      apiServerArgs: ['--kubelet-preferred-address-types=InternalIP'],
      startTimeoutMs: 180_000,
    });
    (this.folders as { kubeconfig: string }).kubeconfig = this.cluster.kubeconfigPath;
    mark('apiServerReady');

    const containerdToml = this.file('containerd.toml', containerdConfig(this.folders, pauseImage.name));
    this.spawn('containerd', 'containerd', ['--config', containerdToml]);
    await this.waitFor('containerd socket', () => fs.existsSync(this.folders.containerdSocket), 30_000);
    mark('containerdReady');
    await loadImages(this.folders.containerdSocket);
    mark('imagesLoaded');

    fs.writeFileSync(
      path.join(this.folders.cniConfDir, '10-clnode.conflist'),
      cniConfig(this.addressing, this.folders),
    );
    // Pods with dnsPolicy Default get the node's resolver configuration: there is none here.
    fs.writeFileSync(this.folders.resolvConf, '');
    const kubeconfig = this.cluster.kubeconfigPath;
    this.spawn('kube-controller-manager', path.join(this.binDir, 'kube-controller-manager'), [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0',
      `--cluster-name=${this.name}`,
      `--root-ca-file=${this.cluster.files.ca}`,
      `--service-account-private-key-file=${this.cluster.files.serviceAccountKey}`,
      `--service-cluster-ip-range=${this.addressing.serviceCidr}`,
      '--use-service-account-credentials=false',
      '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route',
      '--v=1',
    ]);
    this.spawn('kube-scheduler', path.join(this.binDir, 'kube-scheduler'), [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0',
      '--v=1',
    ]);
    this.startKubelet();
    const proxyConfig = this.file('kube-proxy.json', kubeProxyConfig(this.addressing, this.folders));
    this.spawn('kube-proxy', path.join(this.binDir, 'kube-proxy'), [`--config=${proxyConfig}`, '--v=1']);
    await this.waitFor(`node ${this.name} Ready`, () => this.nodeReady(), 120_000);
    mark('nodeReady');

    await this.kubectlOk(['apply', '-f', '-'], {
      input: clusterDnsManifests(this.addressing, corednsImage.name),
    });
    await this.kubectlOk(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=120s'], {
      timeoutMs: 130_000,
    });
    mark('dnsReady');
  }

  /** Starts (or restarts) the kubelet; the rest of the node keeps running. */
  startKubelet(): void {
    const config = this.file(
      'kubelet.json',
      kubeletConfig(this.addressing, this.folders, { syncFrequency: this.syncFrequency }),
    );
    this.spawn('kubelet', path.join(this.binDir, 'kubelet'), [
      `--config=${config}`,
      `--kubeconfig=${this.cluster.kubeconfigPath}`,
      `--root-dir=${this.folders.kubeletRoot}`,
      `--hostname-override=${this.name}`,
      `--node-ip=${this.addressing.nodeIp}`,
      '--v=1',
    ]);
  }

  async nodeReady(): Promise<boolean> {
    const result = await this.kubectl([
      'get',
      'node',
      this.name,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);
    return result.code === 0 && result.stdout === 'True';
  }

  /** Stops the kubelet (SIGTERM), as a node agent restart does; containers keep running. */
  async stopKubelet(): Promise<void> {
    await this.processes.get('kubelet')?.stop(10_000);
  }

  /** Admits one more TCP port from the fabric (see nodeFirewall). */
  async openFabricPort(port: number): Promise<void> {
    await runOk('nft', ['-f', '-'], { netns: this.net.netns, input: openPortRule(port) });
  }

  /** Gives an image in this node's containerd a second name (what `docker tag` does). */
  async tagImage(source: string, target: string): Promise<void> {
    await runOk('ctr', [
      '--address',
      this.folders.containerdSocket,
      '--namespace',
      'k8s.io',
      'images',
      'tag',
      '--force',
      source,
      target,
    ]);
  }

  process(name: string): ManagedProcess | undefined {
    return this.processes.get(name);
  }

  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult> {
    return kubectl({ kubeconfigPath: this.cluster.kubeconfigPath, binDir: this.binDir }, args, options);
  }

  async kubectlOk(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult> {
    const result = await this.kubectl(args, options);
    if (result.code !== 0) throw new KubectlError(args, result);
    return result;
  }

  /** Memory and CPU of the Kubernetes components of this node (the processes, from /proc). */
  componentUsage(): ComponentUsage[] {
    return [
      usageOf('etcd', this.cluster.pids.etcd),
      usageOf('kube-apiserver', this.cluster.pids.apiServer),
      ...[...this.processes].map(([name, p]) => usageOf(name, p.pid)),
    ];
  }

  /** Stops everything this node started and removes what the containers left. Idempotent. */
  async stop(): Promise<void> {
    // The kubelet first, so that it does not restart the containers being killed.
    await this.processes.get('kubelet')?.stop(5_000);
    killContainers(this.folders.containerdSocket);
    await Promise.all([...this.processes.values()].map((p) => p.stop(5_000)));
    killContainers(this.folders.containerdSocket);
    await this.cluster?.stop();
    await unmountBelow(this.dir);
    await removeUnusedPodNetns();
  }

  private spawn(name: string, command: string, args: readonly string[]): ManagedProcess {
    const previous = this.processes.get(name);
    if (previous?.running) throw new Error(`${name} already runs on node ${this.name}`);
    // nsenter joins only the site's network namespace. `ip netns exec` would also give the
    // process a fresh /sys, which hides the cgroup mounts under /sys/fs/cgroup that the kubelet,
    // containerd and runc need ("failed to find cgroup mounts").
    const child = spawnManaged('nsenter', [`--net=/run/netns/${this.net.netns}`, '--', command, ...args], {
      name: `${this.name}/${name}`,
      logFile: path.join(this.dir, `${name}.log`),
    });
    this.processes.set(name, child);
    return child;
  }

  private file(name: string, content: string): string {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, content);
    return file;
  }

  private async waitFor(
    what: string,
    check: () => boolean | Promise<boolean>,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const [name, child] of this.processes) {
        if (!child.running)
          throw new Error(
            `${name} of node ${this.name} exited while waiting for ${what}:\n${child.output().slice(-3000)}`,
          );
      }
      if (await check()) return;
      if (Date.now() > deadline)
        throw new Error(`node ${this.name}: ${what} not reached within ${timeoutMs} ms`);
      await sleep(250);
    }
  }
}
