/**
 * Peer reachability as both control planes (Kubernetes and standalone) consume it: a set of
 * peers to probe, the latest health per peer, a callback on changes. The one implementation is
 * controller/health's HeartbeatMonitor (GET /healthz over mutual TLS to every gateway of every
 * Peer); tests pass a factory of their own to run without heartbeats.
 */
import type { SnapshotTls } from '../kernel/api/snapshot';
import { HeartbeatMonitor, type HealthPolicy, type PeerHealth, type PeerTarget } from './health';
import type { Logger } from '../kernel/log';

export interface PeerMonitor {
  /** Replaces the set of peers to probe and the credentials to probe them with. */
  setPeers(peers: readonly PeerTarget[], tls: SnapshotTls): void;
  /** The latest health of a peer; undefined before it has been set. */
  verdict(peer: string): PeerHealth | undefined;
  close(): Promise<void> | void;
}

export type PeerMonitorFactory = (context: {
  readonly logger: Logger;
  readonly onChange: (peer: string) => void;
}) => PeerMonitor;

export interface HeartbeatOptions {
  readonly policy?: Partial<HealthPolicy>;
  /** Per-probe timeout. @default 3000 */
  readonly timeoutMs?: number;
}

/** The default PeerMonitor: a HeartbeatMonitor created with the first credentials it is given. */
export function heartbeatPeerMonitor(options: HeartbeatOptions = {}): PeerMonitorFactory {
  return ({ logger, onChange }) => new HeartbeatPeerMonitor(options, logger, onChange);
}

class HeartbeatPeerMonitor implements PeerMonitor {
  private monitor: HeartbeatMonitor | undefined;
  private tls: SnapshotTls | undefined;
  private closed = false;

  constructor(
    private readonly options: HeartbeatOptions,
    private readonly logger: Logger,
    private readonly onChange: (peer: string) => void,
  ) {}

  setPeers(peers: readonly PeerTarget[], tls: SnapshotTls): void {
    if (this.closed) return;
    if (!this.monitor) {
      // Created lazily: the standalone gateway learns its credentials only when it starts.
      this.monitor = new HeartbeatMonitor({
        tls,
        policy: this.options.policy,
        timeoutMs: this.options.timeoutMs,
        logger: this.logger.child({ component: 'heartbeat' }),
      });
      this.monitor.on('change', (health) => this.onChange(health.peer));
    } else if (tls !== this.tls) {
      this.monitor.setTls(tls);
    }
    this.tls = tls;
    this.monitor.update(peers.map((p) => ({ name: p.name, gateways: p.gateways })));
  }

  verdict(peer: string): PeerHealth | undefined {
    return this.monitor?.status(peer);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.monitor?.close();
  }
}
