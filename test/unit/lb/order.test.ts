import { LoadBalancer } from '../../../kernel/lb/order';

interface Source {
  peer: string;
  exportName: string;
}
const sources: Source[] = ['a', 'b', 'c', 'd'].map((peer) => ({ peer, exportName: `svc-${peer}` }));
const peersOf = (list: Source[]) => list.map((s) => s.peer).join('');
const allReachable = () => true;
const unreachable =
  (...down: string[]) =>
  (peer: string) =>
    !down.includes(peer);

describe('round-robin', () => {
  test('each call starts one source further along and wraps around', () => {
    const lb = new LoadBalancer();
    const orders = Array.from({ length: 5 }, () =>
      peersOf(lb.order('ns/imp', sources, 'round-robin', allReachable)),
    );
    expect(orders).toEqual(['abcd', 'bcda', 'cdab', 'dabc', 'abcd']);
  });

  test('the counter is kept per import key', () => {
    const lb = new LoadBalancer();
    expect(peersOf(lb.order('ns/one', sources, 'round-robin', allReachable))).toBe('abcd');
    expect(peersOf(lb.order('ns/one', sources, 'round-robin', allReachable))).toBe('bcda');
    expect(peersOf(lb.order('ns/two', sources, 'round-robin', allReachable))).toBe('abcd');
    expect(peersOf(lb.order('ns/one', sources, 'round-robin', allReachable))).toBe('cdab');
  });

  test('unreachable peers go last, each group keeping the rotated order', () => {
    const lb = new LoadBalancer();
    lb.order('k', sources, 'round-robin', allReachable); // advance the counter to start at b
    expect(peersOf(lb.order('k', sources, 'round-robin', unreachable('c')))).toBe('bdac');
    expect(peersOf(lb.order('k', sources, 'round-robin', unreachable('a', 'd')))).toBe('cbda');
  });

  test('every client connection still sees every source exactly once', () => {
    const lb = new LoadBalancer();
    for (let i = 0; i < 10; i++) {
      const order = lb.order('k', sources, 'round-robin', unreachable('b'));
      expect([...order].sort((x, y) => x.peer.localeCompare(y.peer))).toEqual(sources);
      expect(order[order.length - 1].peer).toBe('b');
    }
  });

  test('forget resets the counter of a removed import', () => {
    const lb = new LoadBalancer();
    lb.order('k', sources, 'round-robin', allReachable);
    lb.order('k', sources, 'round-robin', allReachable);
    lb.forget('k');
    expect(peersOf(lb.order('k', sources, 'round-robin', allReachable))).toBe('abcd');
  });

  test('an unknown scheme falls back to round-robin (the API default)', () => {
    const lb = new LoadBalancer();
    lb.order('k', sources, 'weighted' as never, allReachable);
    expect(peersOf(lb.order('k', sources, 'weighted' as never, allReachable))).toBe('bcda');
  });
});

describe('random', () => {
  test('starts at the position the random source picks, then wraps in order', () => {
    const draws = [0, 0.3, 0.5, 0.99];
    const lb = new LoadBalancer(() => draws.shift()!);
    const orders = [0, 1, 2, 3].map(() => peersOf(lb.order('k', sources, 'random', allReachable)));
    expect(orders).toEqual(['abcd', 'bcda', 'cdab', 'dabc']);
  });

  test('unreachable peers go last', () => {
    const lb = new LoadBalancer(() => 0.5);
    expect(peersOf(lb.order('k', sources, 'random', unreachable('c', 'a')))).toBe('dbca');
  });

  test('a broken random source (NaN, 1, negative) cannot pick a source outside the list', () => {
    for (const value of [NaN, 1, -0.5, Infinity]) {
      const lb = new LoadBalancer(() => value);
      expect(peersOf(lb.order('k', sources, 'random', allReachable))).toBe('abcd');
    }
  });

  test('with Math.random every start position occurs', () => {
    const lb = new LoadBalancer();
    const firsts = new Set<string>();
    for (let i = 0; i < 400; i++) firsts.add(lb.order('k', sources, 'random', allReachable)[0].peer);
    expect([...firsts].sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('static', () => {
  test('always the order of spec.sources', () => {
    const lb = new LoadBalancer(() => 0.7);
    for (let i = 0; i < 3; i++) expect(peersOf(lb.order('k', sources, 'static', allReachable))).toBe('abcd');
  });

  test('failover: unreachable peers go last, in spec order', () => {
    const lb = new LoadBalancer();
    expect(peersOf(lb.order('k', sources, 'static', unreachable('a')))).toBe('bcda');
    expect(peersOf(lb.order('k', sources, 'static', unreachable('a', 'b')))).toBe('cdab');
    expect(peersOf(lb.order('k', sources, 'static', unreachable('a', 'b', 'c', 'd')))).toBe('abcd');
  });
});

describe('general', () => {
  test('no sources: an empty order', () => {
    const lb = new LoadBalancer();
    for (const scheme of ['round-robin', 'random', 'static'] as const) {
      expect(lb.order('k', [], scheme, allReachable)).toEqual([]);
    }
  });

  test('several sources on one peer share its reachability', () => {
    const lb = new LoadBalancer();
    const list = [
      { peer: 'x', exportName: 'one' },
      { peer: 'y', exportName: 'two' },
      { peer: 'x', exportName: 'three' },
    ];
    expect(lb.order('k', list, 'static', unreachable('x')).map((s) => s.exportName)).toEqual([
      'two',
      'one',
      'three',
    ]);
  });

  test('returns a new array and leaves the input untouched', () => {
    const lb = new LoadBalancer();
    const input = [...sources];
    const output = lb.order('k', input, 'static', unreachable('a'));
    expect(output).not.toBe(input);
    expect(input).toEqual(sources);
    expect(output[0]).toBe(sources[1]); // the same source objects, reordered
  });

  test('asks for the reachability of each source once', () => {
    const lb = new LoadBalancer();
    const asked: string[] = [];
    lb.order('k', sources, 'static', (peer) => {
      asked.push(peer);
      return true;
    });
    expect(asked).toEqual(['a', 'b', 'c', 'd']);
  });

  test('the source list may change size between calls', () => {
    const lb = new LoadBalancer();
    lb.order('k', sources, 'round-robin', allReachable);
    lb.order('k', sources, 'round-robin', allReachable);
    lb.order('k', sources, 'round-robin', allReachable);
    // counter is now 3; with two sources it points at the second
    expect(peersOf(lb.order('k', sources.slice(0, 2), 'round-robin', allReachable))).toBe('ba');
  });
});
