/**
 * Sites as Linux network namespaces for the end-to-end suite (requires root).
 *
 * Topology (`<p>` = `cle2e-<pid>-<serial>`, unique per Fabric):
 *
 *   <p>-fabric: bridge br0 ── veth ── <p>-a: fab0 10.213.0.11/24   lo: 10.213.11.x/32 "pods"
 *                         ├── veth ── <p>-b: fab0 10.213.0.12/24   lo: 10.213.12.x/32
 *                         └── veth ── <p>-c: fab0 10.213.0.13/24   lo: 10.213.13.x/32
 *
 * - The fabric address is the site's only address other sites can route to, and an nftables
 *   rule in each site admits only the gateway port(s) on fab0 (TCP reset for everything else),
 *   so services that listen on 0.0.0.0 are still unreachable from other sites.
 * - Pod addresses are /32 aliases on the site's loopback: one per data-plane replica, per
 *   service and per client, so the gateway sees distinct source IPs for distinct client pods.
 *   No site has a route to another site's pod addresses.
 * - Nothing is added to the root namespace; the bridge lives in its own namespace. All names
 *   carry the test process id, so concurrent runs do not collide and a later run can remove
 *   what a crashed run left behind (`removeStaleNamespaces`).
 * - 10.213.0.0/16 is used only inside these namespaces.
 */
import { ProcessError, run, runOk } from './procs';

export const NETNS_PREFIX = 'cle2e-';
export const FABRIC_SUBNET = '10.213.0.0/24';

export interface SiteNetwork {
  /** Short site name: 'a', 'b', 'c'. */
  readonly site: string;
  /** 1-based index. */
  readonly index: number;
  /** The namespace name for `ip netns exec`. */
  readonly netns: string;
  /** Address on the fabric, where other sites reach this site's gateway. */
  readonly fabricAddress: string;
  /** The site's pod subnet prefix; `podAddress(n)` = `${podPrefix}.${n}`. */
  readonly podPrefix: string;
  /** TCP ports admitted on the fabric interface. */
  readonly openPorts: readonly number[];
}

export interface FabricOptions {
  readonly sites: readonly string[];
  /** TCP ports every site admits from the fabric (the gateway port). */
  readonly openPorts: readonly number[];
  /** Pod address host numbers to create on every site's loopback. @default 2..9, 10..19, 21..29 */
  readonly podHosts?: readonly number[];
  /**
   * The nftables ruleset each site loads: it must admit only `openPorts` from fab0.
   * @default rules for sites whose Services are emulated by {@link Fabric.setServiceEndpoints}
   */
  readonly firewallRules?: (openPorts: readonly number[]) => string;
}

let fabricSerial = 0;
const DEFAULT_POD_HOSTS = Array.from({ length: 28 }, (_, i) => i + 2);

export function podAddress(site: SiteNetwork, host: number): string {
  return `${site.podPrefix}.${host}`;
}

function runPrefix(pid = process.pid): string {
  return `${NETNS_PREFIX}${pid}`;
}

async function ip(args: readonly string[]): Promise<void> {
  await runOk('ip', args, { timeoutMs: 15_000 });
}

function firewallRules(openPorts: readonly number[]): string {
  // Forwarding is off in a new namespace; this covers local delivery (services on 0.0.0.0).
  const ports = openPorts.join(', ');
  return [
    'table inet cle2e {',
    '  chain input {',
    '    type filter hook input priority 0; policy accept;',
    '    iifname "fab0" ct state established,related accept',
    // Connections a Service rule (below) redirected to a local endpoint.
    '    iifname "fab0" ct status dnat accept',
    `    iifname "fab0" tcp dport { ${ports} } accept`,
    '    iifname "fab0" meta l4proto tcp reject with tcp reset',
    '    iifname "fab0" meta l4proto udp reject',
    '  }',
    '}',
    // Filled by setServiceEndpoints: the kube-proxy part of a Service (port -> endpoints).
    'table ip cle2e-svc {',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '  }',
    '}',
    '',
  ].join('\n');
}

export class Fabric {
  readonly sites: ReadonlyMap<string, SiteNetwork>;
  readonly fabricNetns: string;
  private destroyed = false;

  private constructor(fabricNetns: string, sites: Map<string, SiteNetwork>) {
    this.fabricNetns = fabricNetns;
    this.sites = sites;
  }

  site(name: string): SiteNetwork {
    const site = this.sites.get(name);
    if (!site) throw new Error(`no site ${name}`);
    return site;
  }

  /** Creates the namespaces, links, addresses and firewall. Cleans up what it made if a step fails. */
  static async create(options: FabricOptions): Promise<Fabric> {
    if (process.getuid?.() !== 0) throw new ProcessError('the end-to-end suite needs root (ip netns)');
    if (options.sites.length > 9) throw new Error('at most 9 sites');
    // Several fabrics may exist in one test process: a serial keeps their names apart.
    const prefix = `${runPrefix()}-${++fabricSerial}`;
    const fabricNetns = `${prefix}-fabric`;
    const sites = new Map<string, SiteNetwork>();
    options.sites.forEach((site, i) => {
      if (!/^[a-z]$/.test(site)) throw new Error(`site names are single letters, got ${site}`);
      sites.set(site, {
        site,
        index: i + 1,
        netns: `${prefix}-${site}`,
        fabricAddress: `10.213.0.${11 + i}`,
        podPrefix: `10.213.${11 + i}`,
        openPorts: options.openPorts,
      });
    });
    const fabric = new Fabric(fabricNetns, sites);
    try {
      await ip(['netns', 'add', fabricNetns]);
      await ip(['-n', fabricNetns, 'link', 'add', 'br0', 'type', 'bridge']);
      await ip(['-n', fabricNetns, 'link', 'set', 'br0', 'up']);
      for (const site of sites.values()) {
        await ip(['netns', 'add', site.netns]);
        await ip(['-n', site.netns, 'link', 'set', 'lo', 'up']);
        // Created inside the site namespace, so no interface name ever exists in the root namespace.
        await ip([
          '-n',
          site.netns,
          'link',
          'add',
          'fab0',
          'type',
          'veth',
          'peer',
          'name',
          `site-${site.site}`,
        ]);
        await ip(['-n', site.netns, 'link', 'set', `site-${site.site}`, 'netns', fabricNetns]);
        await ip(['-n', fabricNetns, 'link', 'set', `site-${site.site}`, 'master', 'br0']);
        await ip(['-n', fabricNetns, 'link', 'set', `site-${site.site}`, 'up']);
        await ip(['-n', site.netns, 'addr', 'add', `${site.fabricAddress}/24`, 'dev', 'fab0']);
        await ip(['-n', site.netns, 'link', 'set', 'fab0', 'up']);
        const podLines = (options.podHosts ?? DEFAULT_POD_HOSTS).map(
          (host) => `addr add ${podAddress(site, host)}/32 dev lo\n`,
        );
        await runOk('ip', ['-n', site.netns, '-batch', '-'], { input: podLines.join(''), timeoutMs: 15_000 });
        await runOk('nft', ['-f', '-'], {
          netns: site.netns,
          input: (options.firewallRules ?? firewallRules)(options.openPorts),
          timeoutMs: 15_000,
        });
      }
      return fabric;
    } catch (err) {
      await fabric.destroy();
      throw err;
    }
  }

  /**
   * What kube-proxy does for a Service: connections arriving from the fabric on `port` are
   * spread over `endpoints` (DNAT, round-robin per connection). Replaces earlier endpoints.
   */
  async setServiceEndpoints(
    site: SiteNetwork,
    port: number,
    endpoints: readonly { host: string; port: number }[],
  ): Promise<void> {
    if (endpoints.length === 0) throw new Error('a Service needs at least one endpoint');
    const map = endpoints.map((e, i) => `${i} : ${e.host} . ${e.port}`).join(', ');
    const rules = [
      'flush chain ip cle2e-svc prerouting',
      `add rule ip cle2e-svc prerouting iifname "fab0" tcp dport ${port} dnat to numgen inc mod ${endpoints.length} map { ${map} }`,
      '',
    ].join('\n');
    await runOk('nft', ['-f', '-'], { netns: site.netns, input: rules, timeoutMs: 15_000 });
  }

  /** Kills whatever still runs in the namespaces and deletes them. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const site of this.sites.values()) await deleteNamespace(site.netns);
    await deleteNamespace(this.fabricNetns);
  }
}

export async function listNamespaces(): Promise<string[]> {
  const result = await run('ip', ['netns', 'list'], { timeoutMs: 10_000 });
  return result.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name): name is string => Boolean(name));
}

/** SIGKILLs every process left in the namespace, then deletes it. Missing namespaces are fine. */
export async function deleteNamespace(netns: string): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', netns], { timeoutMs: 10_000 });
  for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await run('ip', ['netns', 'del', netns], { timeoutMs: 10_000 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces left by earlier runs whose test process no longer exists. Returns their names. */
export async function removeStaleNamespaces(): Promise<string[]> {
  const stale = (await listNamespaces()).filter((name) => {
    const match = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name);
    return match !== null && Number(match[1]) !== process.pid && !alive(Number(match[1]));
  });
  for (const name of stale) await deleteNamespace(name);
  return stale;
}
