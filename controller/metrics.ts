/** Prometheus metrics of the control plane (its own registry; the admin server exposes it). */
import { collectDefaultMetrics, Registry, type Counter, type Gauge, type Histogram } from 'prom-client';
import { metricsOn } from '../kernel/prometheus';

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
    const m = metricsOn(this.registry);
    this.reconciles = m.counter(
      'clusterlink_controlplane_reconciles_total',
      'Reconciles by kind and result (success, requeue, error, terminal)',
      ['kind', 'result'],
    );
    this.reconcileSeconds = m.histogram(
      'clusterlink_controlplane_reconcile_duration_seconds',
      'Duration of reconciles',
      ['kind'],
      [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
    );
    this.queueDepth = m.gauge(
      'clusterlink_controlplane_queue_depth',
      'Keys waiting in the work queue, by kind',
      ['kind'],
    );
    this.peersReachable = m.gauge(
      'clusterlink_controlplane_peers_reachable',
      'Peers whose heartbeats succeed',
    );
    this.peers = m.gauge('clusterlink_controlplane_peers', 'Peers configured');
    this.leader = m.gauge('clusterlink_controlplane_leader', '1 while this replica holds the leader lease');
    this.snapshotVersion = m.gauge(
      'clusterlink_controlplane_snapshot_version',
      'Version of the current data-plane snapshot',
    );
    this.informerRestarts = m.gauge(
      'clusterlink_controlplane_informer_restarts',
      'List-watch restarts after errors, by resource',
      ['resource'],
    );
  }
}
