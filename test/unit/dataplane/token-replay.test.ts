import { TokenReplayCache } from '../../../dataplane/token-replay';

describe('token replay memory', () => {
  it('accepts a nonce once and refuses it again until its expiry', () => {
    const cache = new TokenReplayCache();
    expect(cache.use('a', 5_000, 0)).toBe('first');
    expect(cache.use('a', 5_000, 1)).toBe('replayed');
    expect(cache.use('a', 5_000, 4_999)).toBe('replayed');
    expect(cache.use('b', 5_100, 4_999)).toBe('first');
    expect(cache.size).toBe(2);
  });

  it('forgets entries at their expiry, on the next use, whatever order they expire in', () => {
    const cache = new TokenReplayCache();
    // Inserted late-expiring first, as tokens from a replica whose clock runs ahead would be.
    expect(cache.use('late', 9_000, 0)).toBe('first');
    expect(cache.use('early', 3_000, 0)).toBe('first');
    expect(cache.use('middle', 6_000, 0)).toBe('first');
    expect(cache.use('x', 10_000, 3_000)).toBe('first'); // 'early' is forgotten here
    expect(cache.size).toBe(3);
    expect(cache.use('early', 10_000, 3_000)).toBe('first'); // (verification refuses it as expired)
    expect(cache.use('late', 9_000, 8_999)).toBe('replayed');
    expect(cache.use('y', 20_000, 10_000)).toBe('first');
    expect(cache.size).toBe(1);
  });

  it('keeps exactly the unexpired entries through many random inserts and sweeps', () => {
    const cache = new TokenReplayCache();
    const expiries = new Map<string, number>();
    let now = 0;
    for (let i = 0; i < 5_000; i++) {
      now += Math.floor(Math.random() * 3);
      const nonce = `n${i}`;
      const expiresAt = now + 1 + Math.floor(Math.random() * 5_000);
      expect(cache.use(nonce, expiresAt, now)).toBe('first');
      expiries.set(nonce, expiresAt);
      if (i % 250 === 0) expect(cache.size).toBe([...expiries.values()].filter((e) => e > now).length);
    }
    for (const [nonce, expiresAt] of expiries) {
      if (expiresAt > now + 1) expect(cache.use(nonce, expiresAt, now + 1)).toBe('replayed');
    }
  });

  it('is bounded: when full it refuses new tokens and keeps remembering the old ones', () => {
    const cache = new TokenReplayCache(3);
    for (const nonce of ['a', 'b', 'c']) expect(cache.use(nonce, 5_000, 0)).toBe('first');
    expect(cache.use('d', 5_000, 10)).toBe('full');
    expect(cache.use('a', 5_000, 10)).toBe('replayed');
    expect(cache.size).toBe(3);
    // Room again once the old ones expire.
    expect(cache.use('d', 10_000, 5_000)).toBe('first');
    expect(cache.size).toBe(1);
  });
});
