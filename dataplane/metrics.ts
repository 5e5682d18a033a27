/**
 * Prometheus metrics of the data plane (prom-client). `service` is `namespace/name` of the Import
 * (egress) or Export (ingress); `peer` the remote peer. Counters are updated per connection, never
 * per chunk: bytes are added when a tunnel closes.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type Direction = 'egress' | 'ingress';

export class DataPlaneMetrics {
  readonly registry: Registry;
  readonly connectionsOpened: Counter<'direction' | 'service' | 'peer'>;
  readonly connectionsClosed: Counter<'direction' | 'service' | 'peer' | 'end'>;
  readonly connectionsActive: Gauge<'direction' | 'service' | 'peer'>;
  readonly bytes: Counter<'direction' | 'service' | 'peer' | 'flow'>;
  readonly decisions: Counter<'side' | 'result' | 'reason'>;
  readonly setupSeconds: Histogram<'protocol'>;
  readonly errors: Counter<'code'>;
  readonly snapshotVersion: Gauge;
  readonly tlsHandshakes: Counter<'protocol' | 'resumed'>;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.connectionsOpened = new Counter({
      name: 'clusterlink_dataplane_connections_opened_total',
      help: 'Tunnels opened, by direction, import/export (namespace/name) and remote peer',
      labelNames: ['direction', 'service', 'peer'],
      registers,
    });
    this.connectionsClosed = new Counter({
      name: 'clusterlink_dataplane_connections_closed_total',
      help: 'Tunnels closed, by how they ended (complete, error, aborted, idle-timeout, cancelled)',
      labelNames: ['direction', 'service', 'peer', 'end'],
      registers,
    });
    this.connectionsActive = new Gauge({
      name: 'clusterlink_dataplane_connections_active',
      help: 'Tunnels currently open',
      labelNames: ['direction', 'service', 'peer'],
      registers,
    });
    this.bytes = new Counter({
      name: 'clusterlink_dataplane_bytes_total',
      help: 'Bytes relayed; flow=in: from the connection that opened the tunnel (client or remote peer), flow=out: towards it',
      labelNames: ['direction', 'service', 'peer', 'flow'],
      registers,
    });
    this.decisions = new Counter({
      name: 'clusterlink_dataplane_authorization_decisions_total',
      help: 'Authorization decisions by side (egress/ingress), result (allow/deny) and reason',
      labelNames: ['side', 'result', 'reason'],
      registers,
    });
    this.setupSeconds = new Histogram({
      name: 'clusterlink_dataplane_connection_setup_seconds',
      help: 'Time from accepting a client connection to its tunnel being open, by protocol (h2, http/1.1)',
      labelNames: ['protocol'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.errors = new Counter({
      name: 'clusterlink_dataplane_errors_total',
      help: 'Errors by stable code (CL_ERR_...)',
      labelNames: ['code'],
      registers,
    });
    this.tlsHandshakes = new Counter({
      name: 'clusterlink_dataplane_tls_handshakes_total',
      help: 'Completed TLS handshakes on the gateway port, by negotiated protocol and whether the session was resumed',
      labelNames: ['protocol', 'resumed'],
      registers,
    });
    this.snapshotVersion = new Gauge({
      name: 'clusterlink_dataplane_snapshot_version',
      help: 'Version of the snapshot in effect',
      registers,
    });
  }
}
