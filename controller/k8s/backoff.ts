/** Exponential backoff with jitter (pure), and the injectable clock the timing-dependent parts use. */

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** @default 2 */
  readonly factor?: number;
  /** Fraction of the delay added at random, so many clients do not retry in step. @default 0.2 */
  readonly jitter?: number;
}

/** Delay before attempt number `failures` (1 = first retry). */
export function backoffDelay(
  policy: BackoffPolicy,
  failures: number,
  random: () => number = Math.random,
): number {
  const factor = policy.factor ?? 2;
  const jitter = policy.jitter ?? 0.2;
  const exp = Math.min(policy.maxMs, policy.initialMs * Math.pow(factor, Math.max(0, failures - 1)));
  return Math.round(Math.min(policy.maxMs, exp * (1 + jitter * random())));
}

/** Time and timers, injected so tests can drive them. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** A sleep that ends early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
