/**
 * Builds the data plane's desired state from the informer caches (pure: same inputs, same
 * snapshot content). Only usable things go in: valid Exports, Imports whose target port is valid,
 * policies as written (the engine skips invalid ones), clients with a pod IP.
 */
import { Condition } from '../../kernel/api/labels';
import {
  SNAPSHOT_SCHEMA,
  type GatewaySnapshot,
  type LbScheme,
  type SnapshotClient,
  type SnapshotPeer,
} from '../../kernel/api/snapshot';
import type { Export, Import, Peer } from '../../imports/clusterlink.net.types';
import type { Pod, Service } from '../k8s/core';
import type { PolicyObject } from '../../kernel/policy/types';
import { findCondition } from '../reconcile/conditions';
import { resolveExport } from '../reconcile/export-validity';
import type { PeerHealthVerdict } from '../reconcile/peer-status';
import { portHolders } from '../reconcile/ports';

export type SnapshotContent = Omit<GatewaySnapshot, 'version' | 'origin'>;

export interface SnapshotInputs {
  readonly localPeer: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
  readonly tls: GatewaySnapshot['tls'];
  readonly tokenKey: string;
  readonly peers: readonly Peer[];
  readonly verdict: (peer: string) => PeerHealthVerdict | undefined;
  readonly exports: readonly Export[];
  /** The Service `namespace/name`, if it exists. */
  readonly service: (key: string) => Service | undefined;
  readonly imports: readonly Import[];
  readonly policies: readonly PolicyObject[];
  readonly pods: readonly Pod[];
  /** Ports the data plane itself uses. */
  readonly reservedPorts: ReadonlySet<number>;
  /** Host the data plane binds import listeners to. @default '0.0.0.0' */
  readonly listenHost?: string;
}

const byKey = <T extends { namespace?: string; name: string }>(a: T, b: T) =>
  `${a.namespace ?? ''}/${a.name}`.localeCompare(`${b.namespace ?? ''}/${b.name}`);

function peerEntry(peer: Peer, verdict: PeerHealthVerdict | undefined): SnapshotPeer {
  // Before this process has its own verdict, the last one written to status stands.
  const written = findCondition(peer.status?.conditions, Condition.peerReachable);
  return {
    name: peer.metadata.name,
    gateways: (peer.spec?.gateways ?? []).map((g) => ({ host: g.host, port: g.port })),
    reachable: verdict ? verdict.reachable : written?.status === 'True',
    labels: { ...(verdict?.labels ?? peer.status?.labels ?? {}) },
  };
}

export function clientsFromPods(pods: readonly Pod[]): SnapshotClient[] {
  const byIp = new Map<string, SnapshotClient>();
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    const phase = pod.status?.phase;
    // Host-network pods share the node's IP: it identifies no single workload.
    if (!ip || pod.spec?.hostNetwork || phase === 'Succeeded' || phase === 'Failed') continue;
    const ips = pod.status?.podIPs?.map((p) => p.ip) ?? [ip];
    for (const addr of ips) {
      byIp.set(addr, {
        ip: addr,
        namespace: pod.metadata?.namespace ?? 'default',
        serviceAccount: pod.spec?.serviceAccountName || 'default',
        labels: { ...(pod.metadata?.labels ?? {}) },
      });
    }
  }
  return [...byIp.values()].sort((a, b) => a.ip.localeCompare(b.ip));
}

export function buildSnapshotContent(inputs: SnapshotInputs): SnapshotContent {
  const peers = inputs.peers
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => peerEntry(p, inputs.verdict(p.metadata.name)))
    .sort((a, b) => a.name.localeCompare(b.name));

  const exports = inputs.exports
    .flatMap((e) => {
      const ns = e.metadata.namespace ?? 'default';
      const target = resolveExport(e, inputs.service(`${ns}/${e.metadata.name}`)).target;
      if (!target) return [];
      return [
        {
          name: e.metadata.name,
          namespace: ns,
          host: target.host,
          port: target.port,
          labels: { ...(e.metadata.labels ?? {}) },
        },
      ];
    })
    .sort(byKey);

  const holders = portHolders(
    inputs.imports
      .filter((i) => (i.spec?.targetPort ?? 0) > 0 && !i.metadata.deletionTimestamp)
      .map((i) => ({
        key: `${i.metadata.namespace}/${i.metadata.name}`,
        port: i.spec.targetPort!,
        creationTimestamp: i.metadata.creationTimestamp,
      })),
  );
  const imports = inputs.imports
    .flatMap((i) => {
      const port = i.spec?.targetPort ?? 0;
      if (port <= 0 || i.metadata.deletionTimestamp) return []; // not allocated yet
      // Served only by the Import that holds the port, and never on the gateway's own ports.
      if (inputs.reservedPorts.has(port)) return [];
      if (holders.get(port)?.key !== `${i.metadata.namespace}/${i.metadata.name}`) return [];
      return [
        {
          name: i.metadata.name,
          namespace: i.metadata.namespace ?? 'default',
          listenHost: inputs.listenHost ?? '0.0.0.0',
          listenPort: port,
          lbScheme: (i.spec.lbScheme ?? 'round-robin') as LbScheme,
          sources: i.spec.sources.map((s) => ({
            peer: s.peer,
            exportName: s.exportName,
            exportNamespace: s.exportNamespace,
          })),
          labels: { ...(i.metadata.labels ?? {}) },
        },
      ];
    })
    .sort(byKey);

  return {
    schema: SNAPSHOT_SCHEMA,
    localPeer: { name: inputs.localPeer.name, labels: { ...inputs.localPeer.labels } },
    tls: inputs.tls,
    tokenKey: inputs.tokenKey,
    peers,
    exports,
    imports,
    policies: [...inputs.policies].sort(byKey),
    clients: clientsFromPods(inputs.pods),
  };
}
