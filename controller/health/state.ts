/**
 * The peer health state machine (pure; no timers, no I/O). One GatewayHealth per gateway counts
 * consecutive results and applies the thresholds; `peerHealth` combines the gateways of a peer.
 *
 * Initial state: `unknown`. The first success makes a gateway reachable at once (there is no
 * history to debounce, and a new Peer should become usable quickly). Failures while unknown count
 * towards the same threshold as from reachable (5 by default, probed every second), so a transient
 * failure at start-up does not cost the 3 slow (10 s) successes needed to come back. After that:
 * reachable -> unreachable after `failuresToUnreachable` consecutive failures, unreachable ->
 * reachable after `successesToReachable` consecutive successes.
 */
import { formatAddress } from './classify';
import {
  DEFAULT_HEALTH_POLICY,
  REASON_PROBING,
  REASON_REACHABLE,
  type Gateway,
  type HealthPolicy,
  type HealthReason,
  type Labels,
  type PeerHealth,
  type ProbeFailure,
  type ProbeResult,
  type ProbeSuccess,
  type Verdict,
} from './types';

export class GatewayHealth {
  verdict: Verdict = 'unknown';
  consecutiveSuccesses = 0;
  consecutiveFailures = 0;
  lastSuccess: ProbeSuccess | undefined;
  lastFailure: ProbeFailure | undefined;
  /** The most recent result of either kind. */
  lastResult: ProbeResult | undefined;
  /** Clock time of the last result; used to pick the freshest labels among gateways. */
  lastSuccessAt = -Infinity;

  constructor(
    readonly gateway: Gateway,
    private readonly policy: HealthPolicy = DEFAULT_HEALTH_POLICY,
  ) {}

  /** Records a probe result; returns true when the verdict changed. */
  record(result: ProbeResult, now: number): boolean {
    this.lastResult = result;
    const before = this.verdict;
    if (result.ok) {
      this.consecutiveSuccesses++;
      this.consecutiveFailures = 0;
      this.lastSuccess = result;
      this.lastSuccessAt = now;
      if (
        this.verdict === 'unknown' ||
        (this.verdict === 'unreachable' && this.consecutiveSuccesses >= this.policy.successesToReachable)
      ) {
        this.verdict = 'reachable';
      }
    } else {
      this.consecutiveFailures++;
      this.consecutiveSuccesses = 0;
      this.lastFailure = result;
      if (this.verdict !== 'unreachable' && this.consecutiveFailures >= this.policy.failuresToUnreachable) {
        this.verdict = 'unreachable';
      }
    }
    return this.verdict !== before;
  }

  /** Delay before the next probe. */
  nextDelayMs(): number {
    return this.verdict === 'unreachable'
      ? this.policy.unreachableIntervalMs
      : this.policy.reachableIntervalMs;
  }
}

/** The peer-level summary, without the `since` time (the caller tracks verdict changes). */
export type PeerSummary = Omit<PeerHealth, 'since'>;

/**
 * Combines the gateways of a peer: reachable when any gateway is, unreachable when all are,
 * unknown otherwise. Labels come from the freshest successful heartbeat; `previousLabels` are kept
 * when no gateway has answered yet (so a peer going down keeps its labels).
 */
export function peerHealth(
  peer: string,
  gateways: readonly GatewayHealth[],
  previousLabels: Labels = {},
): PeerSummary {
  const reachable = gateways.filter((g) => g.verdict === 'reachable');
  let freshest: GatewayHealth | undefined;
  for (const g of gateways)
    if (g.lastSuccess && (!freshest || g.lastSuccessAt > freshest.lastSuccessAt)) freshest = g;
  const labels = freshest?.lastSuccess?.labels ?? previousLabels;
  const labelsNote = freshest?.lastSuccess?.labelsError
    ? ` (peer labels ignored: ${freshest.lastSuccess.labelsError})`
    : '';

  if (gateways.length === 0) {
    return {
      peer,
      reachable: false,
      verdict: 'unknown',
      reason: REASON_PROBING,
      message: 'the peer lists no gateway',
      labels,
    };
  }
  if (reachable.length > 0) {
    const rttMs = Math.min(...reachable.map((g) => g.lastSuccess?.rttMs ?? Infinity));
    const failing = gateways.filter((g) => g.verdict !== 'reachable' && g.lastFailure);
    const message =
      `heartbeat to ${reachable.map((g) => formatAddress(g.gateway)).join(', ')} succeeded` +
      (failing.length > 0 ? `; ${failing.map((g) => g.lastFailure!.message).join('; ')}` : '') +
      labelsNote;
    return {
      peer,
      reachable: true,
      verdict: 'reachable',
      reason: REASON_REACHABLE,
      message,
      rttMs: Number.isFinite(rttMs) ? rttMs : undefined,
      labels,
    };
  }
  const failures = gateways.map((g) => g.lastFailure).filter((f): f is ProbeFailure => f !== undefined);
  const verdict: Verdict = gateways.every((g) => g.verdict === 'unreachable') ? 'unreachable' : 'unknown';
  const reason: HealthReason = failures[0]?.reason ?? REASON_PROBING;
  const message =
    failures.length > 0 ? failures.map((f) => f.message).join('; ') : 'waiting for the first heartbeat';
  return { peer, reachable: false, verdict, reason, message, labels };
}
