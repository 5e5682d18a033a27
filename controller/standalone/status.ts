/** Builds a standalone gateway's StatusReport from its state. Pure. */
import type { Labels } from '../../kernel/api/snapshot';
import type { PeerHealth } from '../health';
import type { InvalidPolicy } from '../../kernel/policy/engine';
import type { DirectoryConfig } from './objects';
import { importListenPort } from './objects';
import type { StatusReport } from './report';

export interface StatusInput {
  readonly peer?: { readonly name: string; readonly labels: Labels };
  readonly gateway?: string;
  readonly version: number;
  readonly config: DirectoryConfig;
  /** The heartbeat monitor's latest verdict on a peer; undefined = not probed yet. */
  readonly health: (peer: string) => PeerHealth | undefined;
  readonly importAddress: (namespace: string, name: string) => { host: string; port: number } | undefined;
  readonly invalidPolicies: readonly InvalidPolicy[];
  readonly errors: readonly string[];
  readonly now?: Date;
}

export function buildStatusReport(input: StatusInput): StatusReport {
  const { config } = input;
  const invalidPolicy = (name: string, namespace?: string) =>
    input.invalidPolicies.find((p) => p.policy.name === name && p.policy.namespace === namespace);
  return {
    source: 'standalone',
    ...(input.peer ? { peer: input.peer } : {}),
    ...(input.gateway ? { gateway: input.gateway } : {}),
    configVersion: input.version,
    generatedAt: (input.now ?? new Date()).toISOString(),
    peers: config.peers.map((p) => {
      const h = input.health(p.name);
      return {
        name: p.name,
        gateways: p.gateways.map((g) => `${g.host}:${g.port}`),
        ...(h && h.verdict !== 'unknown' ? { reachable: h.reachable } : {}),
        ...(h?.rttMs !== undefined ? { rttMs: Math.round(h.rttMs * 100) / 100 } : {}),
        ...(h ? { since: new Date(h.since).toISOString() } : {}),
        ...(h?.reason ? { reason: h.reason } : {}),
        ...(h?.message ? { message: h.message } : {}),
        labels: h?.labels ?? {},
      };
    }),
    exports: config.exports.map((e) => ({
      name: e.name,
      namespace: e.namespace,
      target: `${e.host}:${e.port}`,
      valid: true,
      labels: e.labels,
    })),
    imports: config.imports.map((i) => {
      const addr = input.importAddress(i.namespace, i.name);
      const unknownPeers = i.sources
        .map((s) => s.peer)
        .filter((p) => !config.peers.some((peer) => peer.name === p));
      const problems = [
        ...(addr ? [] : [`not listening on port ${importListenPort(i)}`]),
        ...(unknownPeers.length ? [`no Peer named ${[...new Set(unknownPeers)].join(', ')}`] : []),
      ];
      return {
        name: i.name,
        namespace: i.namespace,
        port: importListenPort(i),
        ...(addr ? { listen: `${addr.host}:${addr.port}` } : {}),
        sources: i.sources,
        lbScheme: i.lbScheme,
        valid: addr !== undefined,
        ...(problems.length ? { message: problems.join('; ') } : {}),
        labels: i.labels,
      };
    }),
    policies: config.policies.map((p) => {
      const bad = invalidPolicy(p.policy.name, p.policy.namespace);
      return {
        kind: p.kind,
        name: p.policy.name,
        ...(p.policy.namespace ? { namespace: p.policy.namespace } : {}),
        action: p.policy.spec.action,
        valid: !bad,
        ...(bad ? { message: bad.error } : {}),
        spec: p.policy.spec,
      };
    }),
    invalid: config.invalid.map((i) => ({
      file: i.origin.file,
      index: i.origin.index,
      ...(i.kind ? { kind: i.kind } : {}),
      ...(i.name ? { name: i.name } : {}),
      ...(i.namespace ? { namespace: i.namespace } : {}),
      error: i.error,
    })),
    errors: input.errors,
  };
}
