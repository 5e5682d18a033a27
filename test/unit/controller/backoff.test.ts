import { backoffDelay } from '../../../controller/k8s/backoff';

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 1000, jitter: 0.5 };
  it('doubles from the initial delay up to the maximum', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(policy, n, noJitter))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });
  it('adds at most the jitter fraction and never exceeds the maximum', () => {
    expect(backoffDelay(policy, 1, () => 1)).toBe(150);
    expect(backoffDelay(policy, 4, () => 1)).toBe(1000);
  });
});
