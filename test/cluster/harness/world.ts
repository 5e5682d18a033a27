/**
 * The real-Pod world: three sites, each a single-node Kubernetes cluster in its own network
 * namespace (node.ts), on one fabric where only gateway ports cross between sites. ClusterLink is
 * installed the three ways users install it, one per site:
 *
 * - site a: `clusterlink deploy peer --apply` (the CLI; NodePort 30443);
 * - site b: `kubectl apply -f dist/clusterlink-crds.yaml -f dist/clusterlink-gateway.yaml` plus
 *   the two certificate Secrets, exactly as shipped (its LoadBalancer Service gets a node port,
 *   which the site then admits from the fabric, as a cloud load balancer would forward it);
 * - site c: a cdk8s app using `ClusterLinkCrds`, `ClusterLinkGateway` and `Fabric`, synthesized in
 *   the test and applied with kubectl.
 *
 * Certificates come from `clusterlink create fabric` / `create peer-cert`. No gateway process is
 * started by hand: every ClusterLink process is a container the kubelet runs from the image.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Chart, Yaml } from 'cdk8s';
import {
  ClusterLinkCrds,
  ClusterLinkGateway,
  Fabric as FabricConstruct,
  type FabricService,
} from '../../../constructs';
import { Fabric, removeStaleNamespaces } from '../../harness/netns';
import { runOk, stopAllProcesses } from '../../harness/procs';
import { gatewayImage } from '../images/images';
import { removeStaleRuns, removeUnusedPodNetns } from './containers';
import { KubeNode } from './node';
import { nodeFirewall } from './node-config';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(repoRoot, 'lib', 'cli', 'main.js');
export const SITE_NAMES = ['a', 'b', 'c'] as const;
export type SiteName = (typeof SITE_NAMES)[number];
export const GATEWAY_NAMESPACE = 'clusterlink-system';
/** The node port of the gateway Service at sites a and c. */
export const GATEWAY_NODE_PORT = 30443;
/** World folders are `<prefix><test pid>-<random>`, so a later run can tell a dead run's folder. */
const WORLD_DIR_PREFIX = 'clcluster-';
/** The image dist/clusterlink-gateway.yaml names; site b's containerd has our image under it too. */
export const SHIPPED_IMAGE = 'ghcr.io/clusterlink-ts/clusterlink:0.1.0';

export function peerName(site: SiteName): string {
  return `site-${site}`;
}

export interface ClusterSite {
  readonly name: SiteName;
  readonly peer: string;
  readonly node: KubeNode;
  /** Where the other sites reach this site's gateway (node address and node port). */
  gateway: { host: string; port: number };
  /** How ClusterLink was installed here. */
  readonly installedWith: string;
  /** Milliseconds from an empty node to a Ready gateway (both Deployments available). */
  readyMs?: number;
}

export interface ClusterWorld {
  readonly fabric: Fabric;
  readonly dir: string;
  /** Folder written by `clusterlink create fabric` / `create peer-cert`. */
  readonly certDir: string;
  readonly sites: Record<SiteName, ClusterSite>;
  readonly startedAt: number;
}

const INSTALL: Record<SiteName, string> = {
  a: 'clusterlink deploy peer --apply',
  b: 'kubectl apply -f dist/',
  c: 'cdk8s app (ClusterLinkGateway + Fabric)',
};

export async function cli(args: readonly string[], timeoutMs = 300_000): Promise<string> {
  return (await runOk(process.execPath, [CLI, ...args], { timeoutMs })).stdout;
}

/** YAML of every object in the charts, for `kubectl apply -f -`. */
export function chartsYaml(charts: readonly Chart[]): string {
  return charts.flatMap((chart) => chart.toJson().map((o: unknown) => Yaml.stringify(o))).join('---\n');
}

/** The gateway of site c as a user's cdk8s app writes it. */
function siteCInstall(certDir: string): string {
  const app = new App();
  new ClusterLinkCrds(new Chart(app, 'crds'), 'crds');
  new ClusterLinkGateway(new Chart(app, 'gateway'), 'gateway', {
    image: gatewayImage.name,
    peerLabels: { site: 'c' },
    service: { type: 'NodePort', nodePort: GATEWAY_NODE_PORT },
    certificates: {
      caPem: fs.readFileSync(path.join(certDir, 'default_fabric', 'cert.pem'), 'utf8'),
      certPem: fs.readFileSync(path.join(certDir, 'default_fabric', peerName('c'), 'cert.pem'), 'utf8'),
      keyPem: fs.readFileSync(path.join(certDir, 'default_fabric', peerName('c'), 'key.pem'), 'utf8'),
    },
  });
  return chartsYaml(app.charts);
}

/**
 * The Peers, Exports, Imports and policies of every site, from one `Fabric` construct: what a
 * platform team writes once for all its clusters.
 */
export function fabricObjects(
  world: Pick<ClusterWorld, 'sites'>,
  services: readonly FabricService[],
): Record<SiteName, string> {
  const app = new App();
  const fabric = new FabricConstruct(app, 'fabric', {
    sites: SITE_NAMES.map((name) => ({
      name: peerName(name),
      gateway: world.sites[name].gateway,
      labels: { site: name },
    })),
    services,
  });
  const out = {} as Record<SiteName, string>;
  for (const name of SITE_NAMES) out[name] = chartsYaml([fabric.site(peerName(name)).chart]);
  return out;
}

/** What the API server and the kubelet say about the gateway: for an error message. */
async function gatewayDiagnostics(node: KubeNode): Promise<string> {
  const parts = [
    await node.kubectl(['-n', GATEWAY_NAMESPACE, 'get', 'pods', '-o', 'wide']),
    await node.kubectl(['-n', GATEWAY_NAMESPACE, 'get', 'events', '--sort-by=.lastTimestamp']),
    await node.kubectl(['-n', GATEWAY_NAMESPACE, 'logs', 'deployment/cl-controlplane', '--tail=20']),
    await node.kubectl(['-n', GATEWAY_NAMESPACE, 'logs', 'deployment/cl-dataplane', '--tail=20']),
  ];
  return parts.map((p) => (p.stdout + p.stderr).trim().split('\n').slice(-25).join('\n')).join('\n--\n');
}

async function waitForGateway(site: ClusterSite, t0: number): Promise<void> {
  for (const deployment of ['cl-controlplane', 'cl-dataplane']) {
    const rollout = await site.node.kubectl(
      ['-n', GATEWAY_NAMESPACE, 'rollout', 'status', `deployment/${deployment}`, '--timeout=300s'],
      { timeoutMs: 310_000 },
    );
    if (rollout.code !== 0) {
      throw new Error(
        `site ${site.name}: ${deployment} not available: ${rollout.stderr.trim()}\n${await gatewayDiagnostics(site.node)}`,
      );
    }
  }
  site.readyMs = Date.now() - t0;
}

async function install(world: ClusterWorld, site: ClusterSite, t0: number): Promise<void> {
  const { node } = site;
  const kubeconfig = node.cluster.kubeconfigPath;
  if (site.name === 'a') {
    await cli([
      'deploy',
      'peer',
      '--name',
      site.peer,
      '--path',
      world.certDir,
      '--apply',
      '--ingress',
      'NodePort',
      '--ingress-port',
      String(GATEWAY_NODE_PORT),
      '--image',
      gatewayImage.name,
      '--label',
      'site=a',
      '--kubeconfig',
      kubeconfig,
      '--timeout',
      '180',
    ]);
  } else if (site.name === 'b') {
    await node.tagImage(gatewayImage.name, SHIPPED_IMAGE);
    const fabricDir = path.join(world.certDir, 'default_fabric');
    await node.kubectlOk(['create', 'namespace', GATEWAY_NAMESPACE]);
    await node.kubectlOk([
      '-n',
      GATEWAY_NAMESPACE,
      'create',
      'secret',
      'generic',
      'cl-fabric',
      `--from-file=ca.pem=${path.join(fabricDir, 'cert.pem')}`,
    ]);
    await node.kubectlOk([
      '-n',
      GATEWAY_NAMESPACE,
      'create',
      'secret',
      'generic',
      'cl-peer',
      `--from-file=cert.pem=${path.join(fabricDir, site.peer, 'cert.pem')}`,
      `--from-file=key.pem=${path.join(fabricDir, site.peer, 'key.pem')}`,
    ]);
    await node.kubectlOk([
      'apply',
      '-f',
      path.join(repoRoot, 'dist', 'clusterlink-crds.yaml'),
      '-f',
      path.join(repoRoot, 'dist', 'clusterlink-gateway.yaml'),
    ]);
    const nodePort = Number(
      (
        await node.kubectlOk([
          '-n',
          GATEWAY_NAMESPACE,
          'get',
          'service',
          'cl-dataplane',
          '-o',
          'jsonpath={.spec.ports[?(@.name=="gateway")].nodePort}',
        ])
      ).stdout,
    );
    if (!Number.isInteger(nodePort) || nodePort <= 0)
      throw new Error(`site b: gateway Service has no node port`);
    await node.openFabricPort(nodePort);
    site.gateway = { host: node.addressing.nodeIp, port: nodePort };
  } else {
    await node.kubectlOk(['apply', '-f', '-'], { input: siteCInstall(world.certDir) });
  }
  await waitForGateway(site, t0);
}

export async function startClusterWorld(): Promise<ClusterWorld> {
  await removeStaleNamespaces();
  await removeStaleRuns(os.tmpdir(), WORLD_DIR_PREFIX);
  await removeUnusedPodNetns();
  const startedAt = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${WORLD_DIR_PREFIX}${process.pid}-`));
  const certDir = path.join(dir, 'pki');
  fs.mkdirSync(certDir);
  const fabric = await Fabric.create({
    sites: SITE_NAMES,
    openPorts: [GATEWAY_NODE_PORT],
    podHosts: [],
    firewallRules: nodeFirewall,
  });
  const sites = {} as Record<SiteName, ClusterSite>;
  const world: ClusterWorld = { fabric, dir, certDir, sites, startedAt };
  try {
    await cli(['create', 'fabric', '--path', certDir]);
    for (const name of SITE_NAMES) {
      await cli(['create', 'peer-cert', '--name', peerName(name), '--path', certDir]);
      const net = fabric.site(name);
      const nodeDir = path.join(dir, name);
      fs.mkdirSync(nodeDir);
      const node = new KubeNode({ net, name: `node-${name}`, dir: nodeDir });
      sites[name] = {
        name,
        peer: peerName(name),
        node,
        gateway: { host: node.addressing.nodeIp, port: GATEWAY_NODE_PORT },
        installedWith: INSTALL[name],
      };
    }
    // Sites come up side by side, each from an empty node to a Ready gateway.
    await Promise.all(
      SITE_NAMES.map(async (name) => {
        const t0 = Date.now();
        await sites[name].node.start();
        await install(world, sites[name], t0);
      }),
    );
    return world;
  } catch (err) {
    await stopClusterWorld(world);
    throw err;
  }
}

export async function stopClusterWorld(world: Partial<ClusterWorld>): Promise<void> {
  for (const site of Object.values(world.sites ?? {})) await site.node.stop().catch(() => undefined);
  await stopAllProcesses();
  await world.fabric?.destroy();
  if (world.dir && process.env.CLUSTERLINK_CLUSTER_KEEP !== '1')
    fs.rmSync(world.dir, { recursive: true, force: true });
}
