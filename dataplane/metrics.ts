/**
 * Prometheus metrics of the data plane (prom-client). `service` is `namespace/name` of the Import
 * (egress) or Export (ingress); `peer` the remote peer. Counters are updated per connection, never
 * per chunk: bytes are added when a tunnel closes.
 */
import { Registry, type Counter, type Gauge, type Histogram } from 'prom-client';
import { metricsOn } from '../kernel/prometheus';

export type Direction = 'egress' | 'ingress';

/** The labels of every per-tunnel metric. */
const TUNNEL = ['direction', 'service', 'peer'] as const;
type TunnelLabel = (typeof TUNNEL)[number];

/** Series are resolved once per (direction, service, peer); past this many the cache starts over. */
const TUNNEL_SERIES_CACHE_MAX = 4096;

/**
 * The per-tunnel series of one (direction, service, peer), with their labels resolved once:
 * prom-client hashes a label object on every update, which was a measurable share of the CPU per
 * connection.
 */
export interface TunnelSeries {
  readonly opened: { inc(): void };
  readonly active: { inc(): void; dec(): void };
  readonly bytesIn: { inc(value: number): void };
  readonly bytesOut: { inc(value: number): void };
  closed(end: string): { inc(): void };
}

export class DataPlaneMetrics {
  readonly registry: Registry;
  readonly connectionsOpened: Counter<TunnelLabel>;
  readonly connectionsClosed: Counter<TunnelLabel | 'end'>;
  readonly connectionsActive: Gauge<TunnelLabel>;
  readonly bytes: Counter<TunnelLabel | 'flow'>;
  readonly decisions: Counter<'side' | 'result' | 'reason'>;
  readonly setupSeconds: Histogram<'protocol'>;
  readonly errors: Counter<'code'>;
  readonly snapshotVersion: Gauge;
  readonly tlsHandshakes: Counter<'protocol' | 'resumed'>;
  readonly bufferedBytes: Gauge;
  readonly bufferPressure: Gauge;
  private readonly tunnelSeriesCache = new Map<string, TunnelSeries>();

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const m = metricsOn(registry);
    this.connectionsOpened = m.counter(
      'clusterlink_dataplane_connections_opened_total',
      'Tunnels opened, by direction, import/export (namespace/name) and remote peer',
      TUNNEL,
    );
    this.connectionsClosed = m.counter(
      'clusterlink_dataplane_connections_closed_total',
      'Tunnels closed, by how they ended (complete, error, aborted, idle-timeout, cancelled)',
      [...TUNNEL, 'end'],
    );
    this.connectionsActive = m.gauge(
      'clusterlink_dataplane_connections_active',
      'Tunnels currently open',
      TUNNEL,
    );
    this.bytes = m.counter(
      'clusterlink_dataplane_bytes_total',
      'Bytes relayed; flow=in: from the connection that opened the tunnel (client or remote peer), flow=out: towards it',
      [...TUNNEL, 'flow'],
    );
    this.decisions = m.counter(
      'clusterlink_dataplane_authorization_decisions_total',
      'Authorization decisions by side (egress/ingress), result (allow/deny) and reason',
      ['side', 'result', 'reason'],
    );
    this.setupSeconds = m.histogram(
      'clusterlink_dataplane_connection_setup_seconds',
      'Time from accepting a client connection to its tunnel being open, by protocol (h2, http/1.1)',
      ['protocol'],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    );
    this.errors = m.counter('clusterlink_dataplane_errors_total', 'Errors by stable code (CL_ERR_...)', [
      'code',
    ]);
    this.tlsHandshakes = m.counter(
      'clusterlink_dataplane_tls_handshakes_total',
      'Completed TLS handshakes on the gateway port, by negotiated protocol and whether the session was resumed',
      ['protocol', 'resumed'],
    );
    this.bufferedBytes = m.gauge(
      'clusterlink_dataplane_buffered_bytes',
      'Bytes the tunnels hold: read and not yet passed on, written and not yet sent (sampled)',
    );
    this.bufferPressure = m.gauge(
      'clusterlink_dataplane_buffer_pressure',
      '1 while buffered bytes are over the budget and h2 receive windows are shrunk, else 0',
    );
    this.snapshotVersion = m.gauge(
      'clusterlink_dataplane_snapshot_version',
      'Version of the snapshot in effect',
    );
  }

  /** The series of tunnels in `direction` for `service` and `peer` (cached). */
  tunnelSeries(direction: Direction, service: string, peer: string): TunnelSeries {
    const key = `${direction}\0${service}\0${peer}`;
    let series = this.tunnelSeriesCache.get(key);
    if (series) return series;
    if (this.tunnelSeriesCache.size >= TUNNEL_SERIES_CACHE_MAX) this.tunnelSeriesCache.clear();
    const labels = { direction, service, peer };
    const closedByEnd = new Map<string, { inc(): void }>();
    series = {
      opened: this.connectionsOpened.labels(labels),
      active: this.connectionsActive.labels(labels),
      bytesIn: this.bytes.labels({ ...labels, flow: 'in' }),
      bytesOut: this.bytes.labels({ ...labels, flow: 'out' }),
      closed: (end) => {
        let child = closedByEnd.get(end);
        if (!child) {
          child = this.connectionsClosed.labels({ ...labels, end });
          closedByEnd.set(end, child);
        }
        return child;
      },
    };
    this.tunnelSeriesCache.set(key, series);
    return series;
  }
}
