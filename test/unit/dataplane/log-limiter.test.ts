import { LogLimiter } from '../../../dataplane/log-limiter';

const limits = { maxLines: 10, intervalMs: 10_000, maxKeys: 100 };

function burst(limiter: LogLimiter, key: string, count: number, now: number) {
  return Array.from({ length: count }, () => limiter.admit(key, now)).filter((a) => a !== undefined);
}

describe('log limiter', () => {
  it('lets maxLines lines of a key through per interval, then reports what it suppressed', () => {
    const limiter = new LogLimiter(limits);
    const admitted = burst(limiter, 'east CL_ERR_BAD_TOKEN', 100, 1_000);
    expect(admitted).toEqual(Array.from({ length: 10 }, () => ({ suppressed: 0 })));
    expect(limiter.admit('east CL_ERR_BAD_TOKEN', 10_999)).toBeUndefined(); // same window
    expect(limiter.admit('east CL_ERR_BAD_TOKEN', 11_000)).toEqual({ suppressed: 91 });
    expect(limiter.admit('east CL_ERR_BAD_TOKEN', 11_001)).toEqual({ suppressed: 0 });
  });

  it('keeps the suppressed count across quiet windows until a line gets through', () => {
    const limiter = new LogLimiter(limits);
    burst(limiter, 'k', 15, 0);
    expect(limiter.admit('k', 35_000)).toEqual({ suppressed: 5 });
  });

  it('limits each key on its own', () => {
    const limiter = new LogLimiter(limits);
    burst(limiter, 'east CL_ERR_BAD_TOKEN', 50, 0);
    expect(burst(limiter, 'east CL_ERR_BAD_REQUEST', 50, 0)).toHaveLength(10);
    expect(burst(limiter, 'north CL_ERR_BAD_TOKEN', 50, 0)).toHaveLength(10);
  });

  it('starts a new window when the clock goes back', () => {
    const limiter = new LogLimiter(limits);
    burst(limiter, 'k', 12, 50_000);
    expect(limiter.admit('k', 40_000)).toEqual({ suppressed: 2 });
  });

  it('remembers at most maxKeys keys, forgetting the one whose window started longest ago', () => {
    const limiter = new LogLimiter({ ...limits, maxKeys: 3 });
    burst(limiter, 'a', 20, 0);
    burst(limiter, 'b', 20, 1);
    burst(limiter, 'c', 20, 2);
    burst(limiter, 'a', 1, 20_000); // a's new window: b is now the oldest
    burst(limiter, 'd', 1, 20_001);
    expect(limiter.keys).toBe(3);
    expect(limiter.admit('b', 20_002)).toEqual({ suppressed: 0 }); // forgotten, so starts afresh
    expect(limiter.admit('a', 20_003)).toEqual({ suppressed: 0 });
    expect(limiter.keys).toBe(3);
  });
});
