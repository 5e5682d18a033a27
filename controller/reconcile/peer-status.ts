/** PeerReachable from the latest heartbeat verdict (pure). */
import { Condition } from '../../kernel/api/labels';
import type { ConditionInput } from './conditions';

/** What the heartbeat monitor last said about a peer. */
export interface PeerHealthVerdict {
  readonly reachable: boolean;
  /** 'unknown' = still probing (reported as status Unknown). */
  readonly verdict?: 'unknown' | 'reachable' | 'unreachable';
  readonly reason: string;
  readonly message: string;
  readonly rttMs?: number;
  readonly labels?: Readonly<Record<string, string>>;
}

export function peerReachableCondition(verdict: PeerHealthVerdict | undefined): ConditionInput {
  if (!verdict) {
    return {
      type: Condition.peerReachable,
      status: 'Unknown',
      reason: 'Pending',
      message: 'no heartbeat verdict yet',
    };
  }
  if (verdict.verdict === 'unknown') {
    return {
      type: Condition.peerReachable,
      status: 'Unknown',
      reason: verdict.reason || 'Probing',
      message: verdict.message,
    };
  }
  const rtt = verdict.rttMs !== undefined ? ` (round trip ${verdict.rttMs.toFixed(1)} ms)` : '';
  return {
    type: Condition.peerReachable,
    status: verdict.reachable ? 'True' : 'False',
    reason: verdict.reason || (verdict.reachable ? 'HeartbeatSucceeded' : 'HeartbeatFailed'),
    message: (verdict.message || (verdict.reachable ? 'reachable' : 'unreachable')) + rtt,
  };
}
