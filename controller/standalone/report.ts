/**
 * The status report of one site: what `clusterlink status` prints. A standalone gateway serves it
 * on its admin port (GET /status); the CLI builds the same shape from Kubernetes objects.
 */
import type { Labels, LbScheme } from '../../kernel/api/snapshot';
import type { AccessPolicySpec } from '../../kernel/policy/types';

export interface PeerStatus {
  readonly name: string;
  readonly gateways: readonly string[];
  /** undefined = not probed yet. */
  readonly reachable?: boolean;
  readonly rttMs?: number;
  /** When `reachable` last changed (ISO 8601). */
  readonly since?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly labels: Labels;
}

export interface ExportStatus {
  readonly name: string;
  readonly namespace: string;
  readonly target: string;
  readonly valid: boolean;
  readonly message?: string;
  readonly labels: Labels;
}

export interface ImportStatus {
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
  /** Where the gateway listens for this import (host:port), when known. */
  readonly listen?: string;
  readonly sources: readonly {
    readonly peer: string;
    readonly exportName: string;
    readonly exportNamespace: string;
  }[];
  readonly lbScheme: LbScheme;
  readonly valid: boolean;
  readonly message?: string;
  readonly labels: Labels;
}

export interface PolicyStatus {
  readonly kind: 'AccessPolicy' | 'PrivilegedAccessPolicy';
  readonly name: string;
  readonly namespace?: string;
  readonly action: string;
  readonly valid: boolean;
  readonly message?: string;
  readonly spec: AccessPolicySpec;
}

export interface InvalidStatus {
  readonly file?: string;
  readonly index?: number;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly error: string;
}

export interface StatusReport {
  readonly source: 'standalone' | 'kubernetes';
  readonly peer?: { readonly name: string; readonly labels: Labels };
  readonly gateway?: string;
  readonly configVersion?: number;
  readonly generatedAt: string;
  readonly peers: readonly PeerStatus[];
  readonly exports: readonly ExportStatus[];
  readonly imports: readonly ImportStatus[];
  readonly policies: readonly PolicyStatus[];
  readonly invalid: readonly InvalidStatus[];
  /** Problems of the site as a whole (e.g. unreadable certificates). */
  readonly errors: readonly string[];
}
