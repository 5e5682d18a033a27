/**
 * The desired-state snapshot: everything a data plane needs to serve, computed by a control plane
 * (the Kubernetes controller or the standalone directory loader) and handed to every data-plane
 * replica. A data plane decides each connection from its current snapshot alone and keeps serving
 * on the last one it received while the control plane is away.
 *
 * The snapshot is plain JSON (it crosses a process boundary in Kubernetes), immutable once built,
 * and versioned: `version` grows with every change of one publisher, which `origin` names, so
 * receivers can ignore stale deliveries from that publisher and take any snapshot of another.
 */
import type { PolicyObject } from '../policy/types';

export const SNAPSHOT_SCHEMA = 1;

export type LbScheme = 'round-robin' | 'random' | 'static';
export type Labels = Readonly<Record<string, string>>;

export interface SnapshotPeer {
  /** The remote peer's name; equals the first DNS SAN of its certificate. */
  readonly name: string;
  readonly gateways: readonly { readonly host: string; readonly port: number }[];
  /** Last health verdict (heartbeats); unreachable peers are tried last. */
  readonly reachable: boolean;
  /** The remote's peer labels, learned from its heartbeat responses. */
  readonly labels: Labels;
}

export interface SnapshotExport {
  readonly name: string;
  readonly namespace: string;
  /** Where ingress tunnels for this export connect: the Service DNS name or `spec.host`. */
  readonly host: string;
  readonly port: number;
  readonly labels: Labels;
}

export interface SnapshotImportSource {
  readonly peer: string;
  readonly exportName: string;
  readonly exportNamespace: string;
}

export interface SnapshotImport {
  readonly name: string;
  readonly namespace: string;
  /** Address the data plane listens on for this import (e.g. 0.0.0.0 in Kubernetes). */
  readonly listenHost: string;
  /** The gateway listener port (the Import's targetPort). */
  readonly listenPort: number;
  readonly lbScheme: LbScheme;
  readonly sources: readonly SnapshotImportSource[];
  readonly labels: Labels;
}

/** Attributes of a client workload, found by its source IP (a Pod in Kubernetes). */
export interface SnapshotClient {
  readonly ip: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly labels: Labels;
}

export interface SnapshotTls {
  /** PEM of the fabric CA that every peer certificate must chain to. */
  readonly ca: string;
  /** PEM of this peer's certificate (first DNS SAN = local peer name) and its key. */
  readonly cert: string;
  readonly key: string;
}

export interface GatewaySnapshot {
  readonly schema: typeof SNAPSHOT_SCHEMA;
  /** Grows with every snapshot of one origin; says nothing across origins. */
  readonly version: number;
  /**
   * Names the publisher (one control-plane process's lifetime, random): versions of different
   * origins are not compared, since a replica or restarted process may run on a clock behind.
   * Absent for a source that is the only one its data plane ever has (the standalone gateway runs
   * its data plane in-process); absent counts as one origin of its own, so the rule stays
   * "different origin: take it; same origin: take it if newer".
   */
  readonly origin?: string;
  readonly localPeer: { readonly name: string; readonly labels: Labels };
  readonly tls: SnapshotTls;
  /** Secret (base64, at least 32 bytes) shared by all replicas of this site to sign access tokens. */
  readonly tokenKey: string;
  readonly peers: readonly SnapshotPeer[];
  readonly exports: readonly SnapshotExport[];
  readonly imports: readonly SnapshotImport[];
  /** AccessPolicies (namespaced) and PrivilegedAccessPolicies (namespace absent). */
  readonly policies: readonly PolicyObject[];
  readonly clients: readonly SnapshotClient[];
}

/** What orders snapshots: the publisher and its version. */
export type SnapshotStamp = Pick<GatewaySnapshot, 'version' | 'origin'>;

/**
 * Whether a receiver holding `current` takes `next`: always from another origin (a new publisher
 * is authoritative whatever its version), from the same origin only when newer.
 */
export function snapshotSupersedes(next: SnapshotStamp, current: SnapshotStamp | undefined): boolean {
  if (!current) return true;
  return next.origin !== current.origin || next.version > current.version;
}

/** Something that delivers snapshots; both control planes implement it, the data plane consumes it. */
export interface SnapshotSource {
  /** Calls `listener` with the current snapshot (if any) and then with every newer one. Returns an unsubscribe. */
  subscribe(listener: (snapshot: GatewaySnapshot) => void): () => void;
}
