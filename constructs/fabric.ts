import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Attr } from '../kernel/api/labels';
import type { LabelSelectorRequirement, WorkloadSetOrSelector } from '../imports/clusterlink.net.types';
import { AccessPolicy } from './access-policy';
import { DEFAULT_NAMESPACE, GATEWAY_SERVICE_PORT } from './conventions';
import { ClusterLinkCrds } from './crds';
import { Export } from './export';
import { ClusterLinkGateway, ClusterLinkGatewayProps } from './gateway';
import { Import, LbScheme } from './import';
import { GatewayAddress, Peer } from './peer';
import { checkDnsLabel, checkLabels, checkPort, defined } from './validation';

/** One cluster of the fabric. */
export interface FabricSite {
  /** The site's peer name: the first DNS SAN of its certificate (`clusterlink create peer-cert --name`). */
  readonly name: string;
  /**
   * How the other sites reach this site's gateway: "host:port" ("host" alone = port 443,
   * "[::1]:443" for IPv6), an address object, or several addresses tried in order.
   */
  readonly gateway: string | GatewayAddress | readonly (string | GatewayAddress)[];
  /** Peer labels of this site; policies elsewhere see them as peer.clusterlink.net/labels.<key>. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** Overrides of the fabric-wide `install` settings for this site's gateway. @default - none */
  readonly install?: ClusterLinkGatewayProps;
}

/** Who may call a shared service, in addition to being at an importing site. */
export interface FabricClients {
  /** Only these importing sites. @default - every importing site */
  readonly sites?: readonly string[];
  /** Only clients in these namespaces. @default - any namespace */
  readonly namespaces?: readonly string[];
  /** Only clients running as these service accounts. @default - any service account */
  readonly serviceAccounts?: readonly string[];
  /** Only clients (Pods) carrying all of these labels. @default - any labels */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A service exported at some sites and imported at others. */
export interface FabricService {
  /** The Service name: exported as this Service, imported under this name. At most 63 characters. */
  readonly name: string;
  /** Namespace of the Service, the Export and the Imports. @default 'default' */
  readonly namespace?: string;
  /** Port clients connect to at the importing sites. */
  readonly port: number;
  /** Port of the exported service. @default - same as `port` */
  readonly exportPort?: number;
  /** Host of the exported service instead of the Service <name>.<namespace>. @default - the Service */
  readonly exportHost?: string;
  /** Sites that export the service; their order is the order of the Import's sources (see lbScheme static). */
  readonly exportedBy: string | readonly string[];
  /** Sites that import the service. @default - every site that does not export it */
  readonly importedBy?: readonly string[];
  /** @default 'round-robin' */
  readonly lbScheme?: LbScheme;
  /** Who may call the service. @default - any client at any importing site */
  readonly allowedClients?: FabricClients;
}

/** Properties of {@link Fabric}. */
export interface FabricProps {
  readonly sites: readonly FabricSite[];
  /** @default - none */
  readonly services?: readonly FabricService[];
  /** Namespace of every site's gateway (where Peers live). @default 'clusterlink-system' */
  readonly gatewayNamespace?: string;
  /**
   * Write, at both ends of every service, the AccessPolicies that let exactly the allowed clients
   * through (and nothing else: ClusterLink denies by default).
   * @default true
   */
  readonly policies?: boolean;
  /**
   * Also give every site an install chart with the CRDs and a ClusterLinkGateway (peer labels from
   * the site's labels). `true` = default gateway settings.
   * @default false
   */
  readonly install?: boolean | ClusterLinkGatewayProps;
}

/** What the fabric produced for one site. */
export interface FabricSiteCharts {
  readonly site: FabricSite;
  /** Peers, Exports, Imports and AccessPolicies of the site. */
  readonly chart: Chart;
  /** CRDs and gateway, when `install` is set. */
  readonly installChart?: Chart;
  readonly peers: readonly Peer[];
  readonly exports: readonly Export[];
  readonly imports: readonly Import[];
  readonly policies: readonly AccessPolicy[];
}

const DEFAULT_SERVICE_NAMESPACE = 'default';

/**
 * A set of sites and the services they share. Produces one Chart per site holding every Peer,
 * Export, Import and AccessPolicy that site needs, consistent on both ends: each importing site
 * gets an Import whose sources are the exporting sites (and Peers for them), each exporting site
 * gets the Export (and Peers for the importers), and both get a policy allowing exactly the
 * declared callers.
 */
export class Fabric extends Construct {
  private readonly perSite = new Map<string, FabricSiteCharts>();

  constructor(scope: Construct, id: string, props: FabricProps) {
    super(scope, id);
    const errors = validateFabric(props);
    this.node.addValidation({ validate: () => errors });

    const gatewayNamespace = props.gatewayNamespace ?? DEFAULT_NAMESPACE;
    const sites = new Map(props.sites.map((s) => [s.name, s]));
    // Invalid declarations are reported by validation at synth; building skips them so that they
    // cannot collide with valid ones first.
    const seen = new Set<string>();
    const plans = (props.services ?? [])
      .map((service) => planService(service, props.sites))
      .filter((plan) => {
        const key = `${plan.namespace}/${plan.service.name}`;
        const usable = !seen.has(key) && !plan.importers.some((site) => plan.exporters.includes(site));
        seen.add(key);
        return usable;
      });

    for (const site of props.sites) {
      if (this.perSite.has(site.name)) continue; // duplicate, reported by validation
      // Charts are siblings of the fabric so that each synthesizes to <id>-<site>.yaml.
      const chart = new Chart(scope, `${id}-${site.name}`, { disableResourceNameHashes: true });
      const related = new Set<string>();
      const exports: Export[] = [];
      const imports: Import[] = [];
      const policies: AccessPolicy[] = [];

      for (const plan of plans) {
        const { service, namespace, exporters, importers, callers } = plan;
        const scopeId = `${namespace}-${service.name}`;
        if (exporters.includes(site.name)) {
          importers.forEach((s) => related.add(s));
          exports.push(
            new Export(chart, `Export-${scopeId}`, {
              name: service.name,
              namespace,
              port: service.exportPort ?? service.port,
              ...(service.exportHost !== undefined ? { host: service.exportHost } : {}),
            }),
          );
          if ((props.policies ?? true) && callers.length > 0) {
            policies.push(
              new AccessPolicy(chart, `Allow-${scopeId}`, {
                name: policyName(service.name),
                namespace,
                action: 'allow',
                from: [callerSelector(plan, [{ key: Attr.peerName, operator: 'In', values: callers }])],
                to: [{ workloadSelector: { matchLabels: { [Attr.exportName]: service.name } } }],
              }),
            );
          }
        }
        if (importers.includes(site.name)) {
          exporters.forEach((s) => related.add(s));
          imports.push(
            new Import(chart, `Import-${scopeId}`, {
              name: service.name,
              namespace,
              port: service.port,
              lbScheme: service.lbScheme ?? 'round-robin',
              sources: exporters.map((peer) => ({
                peer,
                exportName: service.name,
                exportNamespace: namespace,
              })),
            }),
          );
          if ((props.policies ?? true) && callers.includes(site.name)) {
            policies.push(
              new AccessPolicy(chart, `Allow-${scopeId}`, {
                name: policyName(service.name),
                namespace,
                action: 'allow',
                from: [callerSelector(plan, [])],
                to: [
                  {
                    workloadSelector: {
                      matchLabels: { [Attr.exportName]: service.name },
                      matchExpressions: [{ key: Attr.peerName, operator: 'In', values: [...exporters] }],
                    },
                  },
                ],
              }),
            );
          }
        }
      }

      const peers = [...related]
        .filter((name) => name !== site.name && sites.has(name))
        .sort()
        .map((name) => {
          const remote = sites.get(name) as FabricSite;
          return new Peer(chart, `Peer-${name}`, {
            name,
            namespace: gatewayNamespace,
            gateways: parseGateways(remote.gateway),
          });
        });

      let installChart: Chart | undefined;
      if (props.install) {
        installChart = new Chart(scope, `${id}-${site.name}-install`, { disableResourceNameHashes: true });
        new ClusterLinkCrds(installChart, 'Crds');
        const fabricWide = props.install === true ? {} : props.install;
        new ClusterLinkGateway(installChart, 'Gateway', {
          ...fabricWide,
          ...site.install,
          namespace: gatewayNamespace,
          peerLabels: { ...fabricWide.peerLabels, ...site.labels, ...site.install?.peerLabels },
        });
      }

      this.perSite.set(site.name, { site, chart, installChart, peers, exports, imports, policies });
    }
  }

  /** Everything produced for the named site. */
  public site(name: string): FabricSiteCharts {
    const found = this.perSite.get(name);
    if (!found) {
      throw new Error(`Fabric has no site "${name}"; its sites are ${[...this.perSite.keys()].join(', ')}`);
    }
    return found;
  }

  /** Every site, in declaration order. */
  public get sites(): readonly FabricSiteCharts[] {
    return [...this.perSite.values()];
  }
}

interface ServicePlan {
  readonly service: FabricService;
  readonly namespace: string;
  readonly exporters: readonly string[];
  readonly importers: readonly string[];
  /** Importing sites allowed to call. */
  readonly callers: readonly string[];
}

function asList(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}

function planService(service: FabricService, sites: readonly FabricSite[]): ServicePlan {
  const exporters = asList(service.exportedBy);
  const importers =
    service.importedBy ?? sites.map((s) => s.name).filter((name) => !exporters.includes(name));
  const callers = service.allowedClients?.sites ?? importers;
  return {
    service,
    namespace: service.namespace ?? DEFAULT_SERVICE_NAMESPACE,
    exporters,
    importers,
    callers: callers.filter((c) => importers.includes(c)),
  };
}

function policyName(service: string): string {
  return `fabric-allow-${service}`;
}

/** The source side of a fabric policy: the allowed clients, plus `extra` requirements. */
function callerSelector(plan: ServicePlan, extra: LabelSelectorRequirement[]): WorkloadSetOrSelector {
  const clients = plan.service.allowedClients ?? {};
  const requirements: LabelSelectorRequirement[] = [...extra];
  if (clients.namespaces)
    requirements.push({ key: Attr.clientNamespace, operator: 'In', values: clients.namespaces });
  if (clients.serviceAccounts) {
    requirements.push({ key: Attr.clientServiceAccount, operator: 'In', values: clients.serviceAccounts });
  }
  const matchLabels = Object.fromEntries(
    Object.entries(clients.labels ?? {}).map(([k, v]) => [`${Attr.clientLabelPrefix}${k}`, v]),
  );
  return {
    workloadSelector: {
      ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
      ...(requirements.length > 0 ? { matchExpressions: requirements } : {}),
    },
  };
}

/** "host", "host:port", "[v6]:port" or an address object. */
export function parseGatewayAddress(value: string | GatewayAddress): GatewayAddress {
  if (typeof value !== 'string') return { host: value.host, port: value.port ?? GATEWAY_SERVICE_PORT };
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed)
    return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : GATEWAY_SERVICE_PORT };
  const colons = value.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = value.split(':');
    return { host, port: /^\d+$/.test(port) ? Number(port) : NaN };
  }
  return { host: value, port: GATEWAY_SERVICE_PORT };
}

function parseGateways(value: FabricSite['gateway']): GatewayAddress[] {
  const list =
    typeof value === 'string' || !Array.isArray(value) ? [value as string | GatewayAddress] : value;
  return list.map(parseGatewayAddress);
}

function validateFabric(props: FabricProps): string[] {
  const errors: string[] = [];
  const names = props.sites.map((s) => s.name);
  if (props.sites.length === 0) errors.push('Fabric has no sites; give at least one { name, gateway }');
  for (const name of new Set(names.filter((n, i) => names.indexOf(n) !== i))) {
    errors.push(`site "${name}" is declared twice; site names are peer names and must be unique`);
  }
  if (props.gatewayNamespace !== undefined) {
    const error = checkDnsLabel('gatewayNamespace', props.gatewayNamespace);
    if (error) errors.push(error);
  }
  for (const site of props.sites) {
    errors.push(...defined([checkDnsLabel('site name (the peer name)', site.name)]));
    const gateways = parseGateways(site.gateway);
    if (gateways.length === 0) errors.push(`site "${site.name}" has no gateway address; give "host:port"`);
    gateways.forEach((g, i) => {
      if (g.host.trim() === '' || /\s/.test(g.host)) {
        errors.push(
          `site "${site.name}" gateway ${i + 1} has host "${g.host}"; give a host name or IP address`,
        );
      }
      const portError = checkPort(
        `site "${site.name}" gateway ${i + 1} port`,
        g.port ?? GATEWAY_SERVICE_PORT,
      );
      if (portError) errors.push(portError);
    });
    errors.push(...checkLabels(`site "${site.name}" label`, site.labels));
  }

  const installs = [
    ['install', typeof props.install === 'object' ? props.install : undefined],
    ...props.sites.map((site) => [`site "${site.name}" install`, site.install] as const),
  ] as const;
  for (const [what, install] of installs) {
    if (
      install?.namespace !== undefined &&
      install.namespace !== (props.gatewayNamespace ?? DEFAULT_NAMESPACE)
    ) {
      errors.push(
        `${what}.namespace is ignored by a Fabric (Peers must live in the gateway's namespace); set gatewayNamespace instead`,
      );
    }
  }

  const known = new Set(names);
  const unknown = (what: string, list: readonly string[]) =>
    list
      .filter((n) => !known.has(n))
      .map((n) => `${what} names site "${n}", which is not declared; declared sites: ${names.join(', ')}`);
  const seen = new Set<string>();
  for (const service of props.services ?? []) {
    const namespace = service.namespace ?? DEFAULT_SERVICE_NAMESPACE;
    const what = `service "${namespace}/${service.name}"`;
    if (seen.has(`${namespace}/${service.name}`)) {
      errors.push(`${what} is declared twice; declare it once with every exporting and importing site`);
    }
    seen.add(`${namespace}/${service.name}`);
    const exporters = asList(service.exportedBy);
    const plan = planService(service, props.sites);
    if (exporters.length === 0) errors.push(`${what} has no exportedBy site; name the site(s) running it`);
    errors.push(...unknown(`${what} exportedBy`, exporters));
    errors.push(...unknown(`${what} importedBy`, service.importedBy ?? []));
    errors.push(...unknown(`${what} allowedClients.sites`, service.allowedClients?.sites ?? []));
    for (const site of plan.importers.filter((s) => exporters.includes(s))) {
      errors.push(
        `${what} is both exported and imported by site "${site}"; remove "${site}" from importedBy (the Import would take over the Service it exports)`,
      );
    }
    if (plan.importers.length === 0) {
      errors.push(`${what} has no importing site; add importedBy or another site`);
    }
    for (const site of service.allowedClients?.sites ?? []) {
      if (known.has(site) && !plan.importers.includes(site)) {
        errors.push(
          `${what} allowedClients.sites names "${site}", which does not import it; add it to importedBy`,
        );
      }
    }
    for (const [list, label] of [
      [asList(service.exportedBy), 'exportedBy'],
      [service.importedBy ?? [], 'importedBy'],
    ] as const) {
      for (const dup of new Set(list.filter((n, i) => list.indexOf(n) !== i))) {
        errors.push(`${what} ${label} names site "${dup}" twice`);
      }
    }
  }
  return errors;
}
