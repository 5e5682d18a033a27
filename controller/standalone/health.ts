/**
 * Peer reachability for the standalone gateway: a thin adapter over the HeartbeatMonitor
 * (controller/health), which sends GET /healthz over mutual TLS to every gateway of every Peer.
 */
import type { SnapshotTls } from '../api/snapshot';
import { HeartbeatMonitor, type HealthPolicy } from '../health';
import type { Logger } from '../log';
import type { PeerObject } from './objects';
import type { PeerHealthState } from './status';

export interface PeerHealth {
  /** Replaces the set of peers to probe (and the credentials to probe with). */
  setPeers(peers: readonly PeerObject[], credentials: SnapshotTls): void;
  state(peer: string): PeerHealthState | undefined;
  close(): Promise<void>;
}

export type PeerHealthFactory = (context: { logger: Logger; onChange: () => void }) => PeerHealth;

export interface HeartbeatOptions {
  readonly policy?: Partial<HealthPolicy>;
  /** Per-probe timeout. @default 3000 */
  readonly timeoutMs?: number;
}

export function createPeerHealth(options: HeartbeatOptions = {}): PeerHealthFactory {
  return ({ logger, onChange }) => new MonitoredPeers(options, logger, onChange);
}

class MonitoredPeers implements PeerHealth {
  private monitor: HeartbeatMonitor | undefined;
  private credentials: SnapshotTls | undefined;
  private closed = false;

  constructor(
    private readonly options: HeartbeatOptions,
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {}

  setPeers(peers: readonly PeerObject[], credentials: SnapshotTls): void {
    if (this.closed) return;
    if (!this.monitor) {
      this.monitor = new HeartbeatMonitor({
        tls: credentials,
        policy: this.options.policy,
        timeoutMs: this.options.timeoutMs,
        logger: this.logger.child({ component: 'heartbeat' }),
      });
      this.monitor.on('change', () => this.onChange());
    } else if (credentials !== this.credentials) {
      this.monitor.setTls(credentials);
    }
    this.credentials = credentials;
    this.monitor.update(peers.map((p) => ({ name: p.name, gateways: p.gateways })));
  }

  state(peer: string): PeerHealthState | undefined {
    const h = this.monitor?.status(peer);
    if (!h) return undefined;
    return {
      ...(h.verdict !== 'unknown' ? { reachable: h.reachable } : {}),
      since: new Date(h.since),
      reason: h.reason,
      message: h.message,
      ...(h.rttMs !== undefined ? { rttMs: Math.round(h.rttMs * 100) / 100 } : {}),
      labels: h.labels,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.monitor?.close();
  }
}
