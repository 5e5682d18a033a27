/**
 * The three-site world of the multi-site suite: namespaces and firewall, fabric PKI, and per site
 * an API server, backends, control plane and data plane, with Peers for the two other sites.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createCertificateAuthority,
  createPeerCertificate,
  type CertificateAndKey,
} from '../../../cli/pki/certificates';
import { startBackends, type SiteBackends } from '../../harness/backends';
import { Fabric, removeStaleNamespaces } from '../../harness/netns';
import { runOk, spawnManaged, stopAllProcesses } from '../../harness/procs';
import { conditionOf, peer, type Obj } from './resources';
import { GATEWAY_NAMESPACE, GATEWAY_PORT, repoRoot, Site } from './site';
import { API_GROUP_VERSION, Condition } from '../../../kernel/api/labels';

/** A second iperf3 server in every site, admitted by the firewall, for the direct baseline. */
export const DIRECT_IPERF_PORT = 5202;
export const SITE_NAMES = ['a', 'b', 'c'] as const;
export type SiteName = (typeof SITE_NAMES)[number];

export function peerName(site: string): string {
  return `site-${site}`;
}

export interface World {
  readonly fabric: Fabric;
  readonly dir: string;
  readonly ca: CertificateAndKey;
  readonly sites: Record<SiteName, Site>;
  readonly backends: Record<SiteName, SiteBackends>;
}

/** Compiles lib/ (the processes run `node lib/cli/main.js`, as a user would). */
export async function buildCli(): Promise<void> {
  await runOk('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, timeoutMs: 300_000 });
}

/** Sleeps between polls; the scenarios wait for observable state, never for a fixed time. */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

export async function startWorld(): Promise<World> {
  await removeStaleNamespaces();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cle2e-sites-'));
  const fabric = await Fabric.create({ sites: SITE_NAMES, openPorts: [GATEWAY_PORT, DIRECT_IPERF_PORT] });
  const ca = await createCertificateAuthority({ commonName: 'e2e-fabric' });
  const sites = {} as Record<SiteName, Site>;
  const backends = {} as Record<SiteName, SiteBackends>;
  const world: World = { fabric, dir, ca, sites, backends };
  try {
    for (const name of SITE_NAMES) {
      const net = fabric.site(name);
      const siteDir = path.join(dir, name);
      fs.mkdirSync(siteDir);
      sites[name] = new Site({
        net,
        peerName: peerName(name),
        peerLabels: { site: name, tier: name === 'c' ? 'edge' : 'core' },
        certs: { ca: ca.cert, peer: await createPeerCertificate(ca, peerName(name)) },
        dir: siteDir,
      });
      backends[name] = await startBackends(net, siteDir);
      const direct = spawnManaged('iperf3', ['-s', '--forceflush', '-p', String(DIRECT_IPERF_PORT)], {
        name: `${name}/iperf3-direct`,
        netns: net.netns,
      });
      await direct.waitForOutput(/Server listening/);
    }
    // API servers one after another: each start is CPU-heavy on a small machine.
    for (const name of SITE_NAMES) await sites[name].startApi();
    for (const name of SITE_NAMES) {
      const site = sites[name];
      for (const other of SITE_NAMES) {
        if (other !== name) await site.apply(peer(peerName(other), [sites[other].gatewayAddress]));
      }
      await site.startControlPlane();
      await site.startDataPlane();
      await site.setGatewayReplicas(fabric, 1);
    }
    return world;
  } catch (err) {
    await stopWorld(world);
    throw err;
  }
}

/**
 * Puts the world back into the state every scenario starts from, repairing what a failed scenario
 * left behind, and waits until it holds: each site's API server up and reachable through its
 * bridge, its own certificates in place, its control plane and data-plane replica 0 running
 * (other replicas stopped, the gateway Service on replica 0 only), its Peers as created, no
 * PrivilegedAccessPolicy, and every site's Peers PeerReachable=True. Scenarios restore what they
 * change themselves; this is the net under them, so one failure does not cascade into the
 * scenarios after it. Returns what had to be repaired (empty when the last scenario cleaned up).
 */
export async function ensureBaseline(world: World, timeoutMs = 150_000): Promise<string[]> {
  const repairs: string[] = [];
  const sites = SITE_NAMES.map((name) => world.sites[name]);
  for (const site of sites) {
    const name = site.net.site;
    if (!site.apiServerRunning) {
      await site.startApiServer();
      repairs.push(`${name}: API server started again`);
    }
    if (!site.apiBridgeUp) {
      await site.resumeApiBridge();
      repairs.push(`${name}: API bridge resumed`);
    }
    if (site.restoreCerts()) repairs.push(`${name}: own certificates restored`);
    for (let replica = site.dataPlanes.length - 1; replica > 0; replica--) {
      if (site.dataPlanes[replica]) {
        await site.stopDataPlane(replica);
        repairs.push(`${name}: data-plane replica ${replica} stopped`);
      }
    }
    if (site.gatewayReplicaCount !== 1) {
      await site.setGatewayReplicas(world.fabric, 1);
      repairs.push(`${name}: gateway Service back on replica 0`);
    }
    if (!site.controlPlane?.running) {
      await site.startControlPlane();
      repairs.push(`${name}: control plane started again`);
    }
    if (!site.dataPlane?.running) {
      await site.startDataPlane();
      repairs.push(`${name}: data plane started again`);
    }
    for (const other of sites) {
      if (other === site) continue;
      const wanted = peer(other.peerName, [other.gatewayAddress]);
      const current = await site.read<Obj>(wanted);
      if (JSON.stringify(current?.spec) !== JSON.stringify(wanted.spec)) {
        await site.apply(wanted);
        repairs.push(`${name}: Peer ${other.peerName} re-applied`);
      }
    }
    const privileged = await site.objects.list<Obj>(API_GROUP_VERSION, 'PrivilegedAccessPolicy');
    for (const policy of privileged.items) {
      await site.remove(policy);
      repairs.push(`${name}: PrivilegedAccessPolicy ${policy.metadata?.name} removed`);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const site of sites) {
    for (const other of sites) {
      if (other === site) continue;
      await eventually(
        async () => {
          const object = await site.read<Obj>({
            apiVersion: API_GROUP_VERSION,
            kind: 'Peer',
            metadata: { name: other.peerName, namespace: GATEWAY_NAMESPACE },
          });
          const reachable = conditionOf(object, Condition.peerReachable);
          if (reachable?.status !== 'True') {
            throw new Error(
              `site ${site.net.site}: Peer ${other.peerName} not reachable (${reachable?.message ?? 'no condition'})`,
            );
          }
        },
        Math.max(0, deadline - Date.now()),
        500,
      );
    }
  }
  return repairs;
}

export async function stopWorld(world: Partial<World>): Promise<void> {
  for (const site of Object.values(world.sites ?? {})) await site.stop().catch(() => undefined);
  await stopAllProcesses();
  await world.fabric?.destroy();
  if (world.dir && process.env.CLUSTERLINK_E2E_KEEP !== '1')
    fs.rmSync(world.dir, { recursive: true, force: true });
}
