/** The Peer reconciler: PeerReachable and status.labels from the latest heartbeat verdict. */
import { Condition } from '../../kernel/api/labels';
import type { KubeClient } from '../k8s/client';
import { findCondition } from './conditions';
import type { EventSink } from '../k8s/events';
import { Resources } from '../k8s/resources';
import type { ReconcileResult } from '../k8s/workqueue';
import type { ClusterCache } from './cache';
import { peerReachableCondition, type PeerHealthVerdict } from './peer-status';
import { writeConditions } from './status';

export class PeerReconciler {
  constructor(
    private readonly o: {
      client: KubeClient;
      cache: ClusterCache;
      events: EventSink;
      /** The heartbeat monitor's latest verdict for a peer name. */
      verdict: (peer: string) => PeerHealthVerdict | undefined;
    },
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const peer = this.o.cache.peers.get(key);
    if (!peer || peer.metadata.deletionTimestamp) return;
    const verdict = this.o.verdict(peer.metadata.name);
    const written = findCondition(peer.status?.conditions, Condition.peerReachable);
    // A replica that just took over has no verdict of its own yet: keep what the previous leader
    // wrote rather than flapping to Unknown and back (but do observe a new generation).
    if (
      (!verdict || verdict.verdict === 'unknown') &&
      (written?.status === 'True' || written?.status === 'False') &&
      written.observedGeneration === peer.metadata.generation
    ) {
      return;
    }
    const extra = verdict?.labels ? { labels: verdict.labels } : {};
    await writeConditions(
      this.o.client,
      this.o.events,
      Resources.peer,
      peer,
      [peerReachableCondition(verdict)],
      extra,
    );
  }
}
