import { GatewayHealth, peerHealth } from '../../../controller/health/state';
import type { ProbeFailure, ProbeResult, ProbeSuccess } from '../../../controller/health/types';

const gw = { host: 'gw.example', port: 443 };
const ok = (rttMs = 2, labels: Record<string, string> = {}): ProbeSuccess => ({ ok: true, rttMs, labels });
const fail = (reason: ProbeFailure['reason'] = 'TCPFailure', message = 'refused'): ProbeFailure => ({
  ok: false,
  reason,
  message,
});

function feed(health: GatewayHealth, results: ProbeResult[]): string[] {
  return results.map((r, i) => {
    health.record(r, i);
    return health.verdict;
  });
}

describe('gateway health state machine', () => {
  test('starts unknown and probes at the fast interval', () => {
    const h = new GatewayHealth(gw);
    expect(h.verdict).toBe('unknown');
    expect(h.nextDelayMs()).toBe(1000);
  });

  test('unknown -> reachable on the first success', () => {
    const h = new GatewayHealth(gw);
    expect(h.record(ok(), 0)).toBe(true);
    expect(h.verdict).toBe('reachable');
  });

  test('unknown -> unreachable after 5 consecutive failures, probed every second meanwhile', () => {
    const h = new GatewayHealth(gw);
    const verdicts = feed(h, [fail(), fail(), fail(), fail(), fail()]);
    expect(verdicts).toEqual(['unknown', 'unknown', 'unknown', 'unknown', 'unreachable']);
    expect(h.nextDelayMs()).toBe(10_000);
  });

  test('a success while unknown (after failures) makes it reachable at once', () => {
    const h = new GatewayHealth(gw);
    expect(feed(h, [fail(), fail(), fail(), fail(), ok()])).toEqual([
      'unknown',
      'unknown',
      'unknown',
      'unknown',
      'reachable',
    ]);
  });

  test('reachable -> unreachable needs 5 consecutive failures; a success in between resets the count', () => {
    const h = new GatewayHealth(gw);
    h.record(ok(), 0);
    expect(feed(h, [fail(), fail(), fail(), fail(), ok(), fail(), fail(), fail(), fail()])).toEqual(
      Array(9).fill('reachable'),
    );
    expect(h.record(fail(), 10)).toBe(true);
    expect(h.verdict).toBe('unreachable');
  });

  test('unreachable -> reachable needs 3 consecutive successes; a failure in between resets the count', () => {
    const h = new GatewayHealth(gw);
    feed(h, [fail(), fail(), fail(), fail(), fail()]);
    expect(feed(h, [ok(), ok(), fail(), ok(), ok()])).toEqual(Array(5).fill('unreachable'));
    expect(h.nextDelayMs()).toBe(10_000);
    expect(h.record(ok(), 20)).toBe(true);
    expect(h.verdict).toBe('reachable');
    expect(h.nextDelayMs()).toBe(1000);
  });

  test('record returns true only on verdict changes', () => {
    const h = new GatewayHealth(gw);
    const changes = [ok(), ok(), fail(), fail(), fail(), fail(), fail(), fail(), ok(), ok(), ok(), ok()].map(
      (r, i) => h.record(r, i),
    );
    expect(changes).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      true,
      false,
    ]);
  });

  test('thresholds and intervals are configurable', () => {
    const h = new GatewayHealth(gw, {
      reachableIntervalMs: 50,
      unreachableIntervalMs: 500,
      failuresToUnreachable: 1,
      successesToReachable: 1,
    });
    h.record(ok(), 0);
    h.record(fail(), 1);
    expect(h.verdict).toBe('unreachable');
    expect(h.nextDelayMs()).toBe(500);
    h.record(ok(), 2);
    expect(h.verdict).toBe('reachable');
    expect(h.nextDelayMs()).toBe(50);
  });
});

describe('peer health from its gateways', () => {
  const a = { host: '10.0.0.1', port: 443 };
  const b = { host: 'fd00::1', port: 8443 };
  const unreachable = (g: typeof a, f: ProbeFailure) => {
    const h = new GatewayHealth(g);
    for (let i = 0; i < 5; i++) h.record(f, i);
    return h;
  };
  const reachable = (g: typeof a, s: ProbeSuccess, at = 0) => {
    const h = new GatewayHealth(g);
    h.record(s, at);
    return h;
  };

  test('no result yet: unknown, Probing', () => {
    expect(peerHealth('east', [new GatewayHealth(a)])).toEqual({
      peer: 'east',
      reachable: false,
      verdict: 'unknown',
      reason: 'Probing',
      message: 'waiting for the first heartbeat',
      labels: {},
    });
  });

  test('no gateways: unknown with a message saying so', () => {
    expect(peerHealth('east', []).message).toBe('the peer lists no gateway');
  });

  test('reachable when any gateway is; RTT is the best among reachable gateways; failures are mentioned', () => {
    const summary = peerHealth('east', [
      reachable(a, ok(7, { env: 'prod' })),
      unreachable(b, fail('TLSFailure', 'TLS handshake with [fd00::1]:8443 failed: expired')),
    ]);
    expect(summary).toEqual({
      peer: 'east',
      reachable: true,
      verdict: 'reachable',
      reason: 'HeartbeatSucceeded',
      message: 'heartbeat to 10.0.0.1:443 succeeded; TLS handshake with [fd00::1]:8443 failed: expired',
      rttMs: 7,
      labels: { env: 'prod' },
    });
    expect(peerHealth('east', [reachable(a, ok(9)), reachable(b, ok(4))]).rttMs).toBe(4);
  });

  test('unreachable only when every gateway is; the reason is the first gateway failure, messages joined', () => {
    const summary = peerHealth('east', [
      unreachable(a, fail('DNSFailure', 'DNS lookup of "x" failed')),
      unreachable(b, fail('TCPFailure', 'refused')),
    ]);
    expect(summary).toMatchObject({
      reachable: false,
      verdict: 'unreachable',
      reason: 'DNSFailure',
      message: 'DNS lookup of "x" failed; refused',
    });
    expect(summary.rttMs).toBeUndefined();
  });

  test('one gateway unreachable and one still undecided: unknown, with the failure known so far', () => {
    const undecided = new GatewayHealth(b);
    undecided.record(fail('Timeout', 'timed out'), 0);
    expect(peerHealth('east', [unreachable(a, fail('TCPFailure', 'refused')), undecided])).toMatchObject({
      verdict: 'unknown',
      reason: 'TCPFailure',
      message: 'refused; timed out',
    });
  });

  test('labels come from the freshest success and survive the peer going down', () => {
    const older = reachable(a, ok(1, { v: 'old' }), 1);
    const newer = reachable(b, ok(1, { v: 'new' }), 2);
    expect(peerHealth('east', [older, newer]).labels).toEqual({ v: 'new' });
    expect(peerHealth('east', [unreachable(a, fail())], { v: 'kept' }).labels).toEqual({ v: 'kept' });
  });

  test('an unusable labels header is mentioned in the message', () => {
    const h = reachable(a, { ok: true, rttMs: 1, labels: {}, labelsError: 'the header is not base64' });
    expect(peerHealth('east', [h]).message).toBe(
      'heartbeat to 10.0.0.1:443 succeeded (peer labels ignored: the header is not base64)',
    );
  });
});
