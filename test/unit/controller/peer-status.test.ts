import { peerReachableCondition } from '../../../controller/reconcile/peer-status';

describe('peerReachableCondition', () => {
  it('is Unknown before any verdict and while probing', () => {
    expect(peerReachableCondition(undefined)).toMatchObject({ status: 'Unknown', reason: 'Pending' });
    expect(
      peerReachableCondition({ reachable: false, verdict: 'unknown', reason: 'Probing', message: 'waiting' }),
    ).toEqual({ type: 'PeerReachable', status: 'Unknown', reason: 'Probing', message: 'waiting' });
  });
  it('carries the failure reason and message', () => {
    expect(
      peerReachableCondition({
        reachable: false,
        verdict: 'unreachable',
        reason: 'TLSFailure',
        message: 'certificate names "x"',
      }),
    ).toEqual({
      type: 'PeerReachable',
      status: 'False',
      reason: 'TLSFailure',
      message: 'certificate names "x"',
    });
  });
  it('adds the round-trip time when reachable', () => {
    expect(
      peerReachableCondition({
        reachable: true,
        verdict: 'reachable',
        reason: 'HeartbeatSucceeded',
        message: 'ok',
        rttMs: 1.234,
      }),
    ).toMatchObject({ status: 'True', message: 'ok (round trip 1.2 ms)' });
  });
});
