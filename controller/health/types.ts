/** Types of peer health (DESIGN.md section 5, "Health"). */
import type { Labels } from '../../kernel/api/snapshot';

export type { Labels };

export interface Gateway {
  readonly host: string;
  readonly port: number;
}

/** What a heartbeat monitor watches: a Peer and its gateways. */
export interface PeerTarget {
  readonly name: string;
  readonly gateways: readonly Gateway[];
}

/** unknown: no verdict yet (just added, or still probing); the others follow the thresholds. */
export type Verdict = 'unknown' | 'reachable' | 'unreachable';

/** Condition reasons (PeerReachable) naming what failed. */
export type FailureReason =
  'DNSFailure' | 'TCPFailure' | 'TLSFailure' | 'IdentityMismatch' | 'HTTPStatus' | 'Timeout' | 'ProbeError';

export const REASON_REACHABLE = 'HeartbeatSucceeded';
export const REASON_PROBING = 'Probing';

export type HealthReason = FailureReason | typeof REASON_REACHABLE | typeof REASON_PROBING;

export interface ProbeSuccess {
  readonly ok: true;
  /** Request sent to response headers received, in milliseconds. */
  readonly rttMs: number;
  readonly labels: Labels;
  /** Set when the labels header was present but unusable (the labels are then empty). */
  readonly labelsError?: string;
}

export interface ProbeFailure {
  readonly ok: false;
  readonly reason: FailureReason;
  /** One human sentence naming the gateway and what failed. */
  readonly message: string;
}

export type ProbeResult = ProbeSuccess | ProbeFailure;

/** Timing and hysteresis of the health verdict. */
export interface HealthPolicy {
  /** Probe interval while the gateway is reachable (or not yet decided). @default 1000 */
  readonly reachableIntervalMs: number;
  /** Probe interval while the gateway is unreachable. @default 10000 */
  readonly unreachableIntervalMs: number;
  /** Consecutive failures that turn a gateway unreachable. @default 5 */
  readonly failuresToUnreachable: number;
  /** Consecutive successes that turn an unreachable gateway reachable. @default 3 */
  readonly successesToReachable: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = Object.freeze({
  reachableIntervalMs: 1000,
  unreachableIntervalMs: 10_000,
  failuresToUnreachable: 5,
  successesToReachable: 3,
});

/** The health of one peer, as reported to listeners and as returned by `status()`. */
export interface PeerHealth {
  readonly peer: string;
  readonly reachable: boolean;
  readonly verdict: Verdict;
  readonly reason: HealthReason;
  readonly message: string;
  /** The best round-trip time among reachable gateways (last heartbeat); absent when none is. */
  readonly rttMs?: number;
  /** The remote's peer labels from its latest successful heartbeat (kept while it is down). */
  readonly labels: Labels;
  /** When (clock milliseconds) the verdict last changed. */
  readonly since: number;
}
