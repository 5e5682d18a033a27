/** The monitor's schedule and events, driven by a fake clock and a scripted prober (no sleeping). */
import { HeartbeatMonitor } from '../../../controller/health/monitor';
import type { Prober } from '../../../controller/health/probe';
import type { Gateway, PeerHealth, ProbeResult } from '../../../controller/health/types';
import { FakeClock } from './fake-clock';

interface Call {
  peer: string;
  gateway: Gateway;
  at: number;
}

function scripted(clock: FakeClock, answer: (peer: string, gateway: Gateway) => ProbeResult) {
  const calls: Call[] = [];
  const prober: Prober = {
    probe: (peer, gateway) => {
      calls.push({ peer, gateway, at: clock.now() });
      return Promise.resolve(answer(peer, gateway));
    },
  };
  return { calls, prober };
}

const up: ProbeResult = { ok: true, rttMs: 3, labels: { site: 'east' } };
const down: ProbeResult = {
  ok: false,
  reason: 'TCPFailure',
  message: 'TCP connection to gw:443 failed: refused',
};

function setup(answer: (peer: string, gateway: Gateway) => ProbeResult) {
  const clock = new FakeClock();
  const { calls, prober } = scripted(clock, answer);
  const monitor = new HeartbeatMonitor({ prober, clock });
  const events: PeerHealth[] = [];
  monitor.on('change', (e) => events.push(e));
  return { clock, calls, monitor, events };
}

describe('HeartbeatMonitor schedule', () => {
  test('probes at once, then every second while reachable', async () => {
    const { clock, calls, monitor, events } = setup(() => up);
    monitor.update([{ name: 'east', gateways: [{ host: 'gw', port: 443 }] }]);
    await clock.advance(0);
    expect(calls.map((c) => c.at)).toEqual([0]);
    expect(events).toEqual([
      {
        peer: 'east',
        reachable: true,
        verdict: 'reachable',
        reason: 'HeartbeatSucceeded',
        message: 'heartbeat to gw:443 succeeded',
        rttMs: 3,
        labels: { site: 'east' },
        since: 0,
      },
    ]);
    await clock.advance(5000);
    expect(calls.map((c) => c.at)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(events).toHaveLength(1); // nothing a user sees changed
    await monitor.close();
  });

  test('a dead gateway: 5 probes a second apart, then unreachable and probed every 10 s', async () => {
    const { clock, calls, monitor, events } = setup(() => down);
    monitor.update([{ name: 'east', gateways: [{ host: 'gw', port: 443 }] }]);
    await clock.advance(4000);
    expect(calls.map((c) => c.at)).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(events.map((e) => [e.verdict, e.reason, e.since])).toEqual([
      ['unknown', 'TCPFailure', 0],
      ['unreachable', 'TCPFailure', 4000],
    ]);
    expect(events[1].message).toBe('TCP connection to gw:443 failed: refused');
    expect(clock.pendingDelays()).toEqual([10_000]);
    await clock.advance(30_000);
    expect(calls.map((c) => c.at).slice(5)).toEqual([14_000, 24_000, 34_000]);
    expect(monitor.status('east')).toMatchObject({ reachable: false, verdict: 'unreachable', since: 4000 });
    await monitor.close();
  });

  test('down then recovered: 5 failures to go unreachable, 3 successes to come back', async () => {
    let healthy = true;
    const { clock, monitor, events } = setup(() => (healthy ? up : down));
    monitor.update([{ name: 'east', gateways: [{ host: 'gw', port: 443 }] }]);
    await clock.advance(0);
    healthy = false;
    await clock.advance(4000); // failures at 1..4 s: still reachable
    expect(monitor.status('east')?.verdict).toBe('reachable');
    await clock.advance(1000); // 5th failure
    expect(monitor.status('east')).toMatchObject({ verdict: 'unreachable', since: 5000 });
    healthy = true;
    await clock.advance(20_000); // successes at 15 s and 25 s
    expect(monitor.status('east')?.verdict).toBe('unreachable');
    await clock.advance(10_000); // third success at 35 s
    expect(monitor.status('east')).toMatchObject({ verdict: 'reachable', reachable: true, since: 35_000 });
    expect(events.map((e) => e.verdict)).toEqual(['reachable', 'unreachable', 'reachable']);
    expect(events[1].labels).toEqual({ site: 'east' }); // labels kept while down
    await monitor.close();
  });

  test('every gateway is probed; the peer is reachable while one of them answers', async () => {
    const { clock, calls, monitor } = setup((_p, g) => (g.host === 'good' ? up : down));
    monitor.update([
      {
        name: 'east',
        gateways: [
          { host: 'bad', port: 443 },
          { host: 'good', port: 443 },
        ],
      },
    ]);
    await clock.advance(6000);
    expect(new Set(calls.map((c) => c.gateway.host))).toEqual(new Set(['bad', 'good']));
    expect(monitor.status('east')).toMatchObject({
      reachable: true,
      message: 'heartbeat to good:443 succeeded; TCP connection to gw:443 failed: refused',
    });
    await monitor.close();
  });

  test('removing a peer stops its heartbeats; other peers continue', async () => {
    const { clock, calls, monitor } = setup(() => up);
    monitor.update([
      { name: 'east', gateways: [{ host: 'e', port: 443 }] },
      { name: 'west', gateways: [{ host: 'w', port: 443 }] },
    ]);
    await clock.advance(2000);
    monitor.update([{ name: 'west', gateways: [{ host: 'w', port: 443 }] }]);
    const before = calls.filter((c) => c.peer === 'east').length;
    await clock.advance(5000);
    expect(calls.filter((c) => c.peer === 'east').length).toBe(before);
    expect(calls.filter((c) => c.peer === 'west' && c.at > 2000).length).toBe(5);
    expect(monitor.status('east')).toBeUndefined();
    expect(monitor.statuses().map((s) => s.peer)).toEqual(['west']);
    expect(clock.pending).toBe(1);
    await monitor.close();
  });

  test('changing the gateways of a peer probes the new ones and stops the old ones', async () => {
    const { clock, calls, monitor } = setup(() => up);
    monitor.update([{ name: 'east', gateways: [{ host: 'old', port: 443 }] }]);
    await clock.advance(1000);
    monitor.update([{ name: 'east', gateways: [{ host: 'new', port: 443 }] }]);
    await clock.advance(3000);
    expect(calls.filter((c) => c.at > 1000).every((c) => c.gateway.host === 'new')).toBe(true);
    expect(monitor.status('east')?.message).toBe('heartbeat to new:443 succeeded');
    await monitor.close();
  });

  test('an unchanged update keeps the schedule (no extra probes)', async () => {
    const { clock, calls, monitor } = setup(() => up);
    const peers = [{ name: 'east', gateways: [{ host: 'gw', port: 443 }] }];
    monitor.update(peers);
    await clock.advance(500);
    monitor.update(peers);
    monitor.update(peers);
    await clock.advance(500);
    expect(calls.map((c) => c.at)).toEqual([0, 1000]);
    await monitor.close();
  });

  test('close stops everything: no timers left, no probes after', async () => {
    const { clock, calls, monitor } = setup(() => up);
    monitor.update([{ name: 'east', gateways: [{ host: 'gw', port: 443 }] }]);
    await clock.advance(1000);
    await monitor.close();
    expect(clock.pending).toBe(0);
    const count = calls.length;
    await clock.advance(10_000);
    expect(calls.length).toBe(count);
    monitor.update([{ name: 'west', gateways: [{ host: 'gw', port: 443 }] }]); // ignored after close
    await clock.advance(1000);
    expect(calls.length).toBe(count);
  });

  test('invalid entries are skipped, valid ones still watched', async () => {
    const { clock, calls, monitor } = setup(() => up);
    monitor.update([
      { name: '', gateways: [{ host: 'x', port: 443 }] },
      {
        name: 'east',
        gateways: [
          { host: '', port: 443 },
          { host: 'gw', port: 70000 },
          { host: 'gw', port: 443 },
        ],
      },
      null as never,
    ]);
    await clock.advance(0);
    expect(calls.map((c) => `${c.peer}@${c.gateway.host}:${c.gateway.port}`)).toEqual(['east@gw:443']);
    await monitor.close();
  });

  test('a throwing listener or prober does not stop the heartbeats', async () => {
    const clock = new FakeClock();
    let n = 0;
    const prober: Prober = {
      probe: () => {
        n++;
        if (n === 2) throw new Error('boom');
        return Promise.resolve(up);
      },
    };
    const monitor = new HeartbeatMonitor({ prober, clock });
    monitor.on('change', () => {
      throw new Error('listener bug');
    });
    monitor.update([{ name: 'east', gateways: [{ host: 'gw', port: 443 }] }]);
    await clock.advance(3000);
    expect(n).toBe(4);
    expect(monitor.status('east')?.verdict).toBe('reachable');
    await monitor.close();
  });

  test('the monitor forgets removed gateways and closes its prober', async () => {
    const clock = new FakeClock();
    const forgotten: string[] = [];
    let closed = 0;
    const prober: Prober = {
      probe: () => Promise.resolve(up),
      forget: (peer, gateway) => forgotten.push(`${peer}@${gateway.host}`),
      close: () => closed++,
    };
    const monitor = new HeartbeatMonitor({ prober, clock });
    monitor.update([
      {
        name: 'east',
        gateways: [
          { host: 'a', port: 443 },
          { host: 'b', port: 443 },
        ],
      },
      { name: 'west', gateways: [{ host: 'w', port: 443 }] },
    ]);
    await clock.advance(0);
    monitor.update([
      { name: 'east', gateways: [{ host: 'b', port: 443 }] },
      { name: 'west', gateways: [{ host: 'w', port: 443 }] },
    ]);
    expect(forgotten).toEqual(['east@a']);
    monitor.update([{ name: 'west', gateways: [{ host: 'w', port: 443 }] }]);
    expect(forgotten).toEqual(['east@a', 'east@b']);
    await monitor.close();
    expect(forgotten).toEqual(['east@a', 'east@b', 'west@w']);
    expect(closed).toBe(1);
  });

  test('needs TLS material unless a prober is given', () => {
    expect(() => new HeartbeatMonitor({})).toThrow(/tls/);
  });
});
