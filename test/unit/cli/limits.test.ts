/** `--limit` / CL_LIMITS parsing: which limits take 0 (off) and which must be at least 1. */
import { parseLimits } from '../../../cli/limits';

it('takes 0 for the limits where it means off, from flags and from CL_LIMITS', () => {
  expect(parseLimits('--limit', ['bufferBudgetBytes=0'], { CL_LIMITS: 'idleTimeoutMs=0' })).toEqual({
    idleTimeoutMs: 0,
    bufferBudgetBytes: 0,
  });
  expect(parseLimits('--limit', ['bufferBudgetBytes=67108864'])).toEqual({ bufferBudgetBytes: 67108864 });
});

it('refuses 0 for the others and anything that is not a whole number', () => {
  expect(() => parseLimits('--limit', ['maxTunnelsPerPeer=0'])).toThrow(
    /maxTunnelsPerPeer must be an integer >= 1/,
  );
  expect(() => parseLimits('--limit', ['bufferBudgetBytes=-1'])).toThrow(
    /bufferBudgetBytes must be an integer >= 0/,
  );
  expect(() => parseLimits('--limit', ['bufferBudgetBytes=1e9'])).toThrow(/integer/);
});
