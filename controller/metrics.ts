/** Prometheus metrics of the control plane (its own registry; the admin server exposes it). */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ControlPlaneMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'kind' | 'result'>;
  readonly reconcileSeconds: Histogram<'kind'>;
  readonly queueDepth: Gauge<'kind'>;
  readonly peersReachable: Gauge;
  readonly peers: Gauge;
  readonly leader: Gauge;
  readonly snapshotVersion: Gauge;
  readonly informerRestarts: Gauge<'resource'>;

  constructor(options: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.defaultMetrics ?? !options.registry) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.reconciles = new Counter({
      name: 'clusterlink_controlplane_reconciles_total',
      help: 'Reconciles by kind and result (success, requeue, error, terminal)',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.reconcileSeconds = new Histogram({
      name: 'clusterlink_controlplane_reconcile_duration_seconds',
      help: 'Duration of reconciles',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'clusterlink_controlplane_queue_depth',
      help: 'Keys waiting in the work queue, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.peersReachable = new Gauge({
      name: 'clusterlink_controlplane_peers_reachable',
      help: 'Peers whose heartbeats succeed',
      registers,
    });
    this.peers = new Gauge({ name: 'clusterlink_controlplane_peers', help: 'Peers configured', registers });
    this.leader = new Gauge({
      name: 'clusterlink_controlplane_leader',
      help: '1 while this replica holds the leader lease',
      registers,
    });
    this.snapshotVersion = new Gauge({
      name: 'clusterlink_controlplane_snapshot_version',
      help: 'Version of the current data-plane snapshot',
      registers,
    });
    this.informerRestarts = new Gauge({
      name: 'clusterlink_controlplane_informer_restarts',
      help: 'List-watch restarts after errors, by resource',
      labelNames: ['resource'],
      registers,
    });
  }
}
