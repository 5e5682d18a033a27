/**
 * What the control plane needs from peer health: a set of peers to probe, the latest verdict per
 * peer, and a callback on changes. The default is controller/health's HeartbeatMonitor.
 */
import type { SnapshotTls } from './api/snapshot';
import type { Logger } from './log';
import type { PeerHealthVerdict } from './reconcile/peer-status';

export interface PeerTargetSpec {
  readonly name: string;
  readonly gateways: readonly { readonly host: string; readonly port: number }[];
}

export interface PeerMonitor {
  setPeers(peers: readonly PeerTargetSpec[]): void;
  verdict(peer: string): PeerHealthVerdict | undefined;
  close(): Promise<void> | void;
}

export type PeerMonitorFactory = (context: {
  readonly tls: SnapshotTls;
  readonly localPeer: string;
  readonly logger: Logger;
  readonly onChange: (peer: string) => void;
}) => PeerMonitor;
