/**
 * The importing gateway's per-connection plan (DESIGN.md sections 4 and 6), pure over the compiled
 * snapshot: the source attributes of the client, the sources in the order to try them, and the
 * egress policy decision for each.
 */
import type { SnapshotImport, SnapshotImportSource, SnapshotPeer } from '../../kernel/api/snapshot';
import type { LoadBalancer } from '../../kernel/lb/order';
import type { Decision } from '../../kernel/policy/engine';
import type { Attributes } from '../../kernel/policy/types';
import { destinationAttributes, normalizeIp, sourceAttributes } from '../attributes';
import { namespacedKey, type CompiledConfig } from '../config';

export interface PlannedSource {
  readonly source: SnapshotImportSource;
  /** Undefined when the snapshot has no Peer of that name (the source is skipped). */
  readonly peer: SnapshotPeer | undefined;
  readonly decision: Decision | undefined;
}

export interface EgressPlan {
  readonly sourceAttributes: Attributes;
  readonly candidates: readonly PlannedSource[];
}

export function planEgress(
  config: CompiledConfig,
  lb: LoadBalancer,
  imp: SnapshotImport,
  clientAddress: string | undefined,
): EgressPlan {
  const client = config.clientsByIp.get(normalizeIp(clientAddress));
  const src = sourceAttributes(config.localPeer, config.snapshot.localPeer.labels ?? {}, client);
  const ordered = lb.order(
    namespacedKey(imp.namespace, imp.name),
    imp.sources,
    imp.lbScheme,
    (peer) => config.peers.get(peer)?.reachable ?? false,
  );
  const candidates = ordered.map((source): PlannedSource => {
    const peer = config.peers.get(source.peer);
    if (!peer) return { source, peer, decision: undefined };
    const dst = destinationAttributes(
      source.exportName,
      source.exportNamespace,
      imp.labels ?? {},
      peer.name,
      peer.labels ?? {},
    );
    return { source, peer, decision: config.policy.decide(src, dst, imp.namespace) };
  });
  return { sourceAttributes: src, candidates };
}
