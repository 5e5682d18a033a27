/**
 * The buffer budget's decision: over the budget -> pressure; back to normal only below three
 * quarters of it; a budget of 0 never signals.
 */
import { BufferPressure } from '../../../dataplane/buffer-pressure';

function tracker(budget: number): { pressure: BufferPressure; changes: [boolean, number][] } {
  const changes: [boolean, number][] = [];
  const pressure = new BufferPressure(
    () => budget,
    (under, held) => changes.push([under, held]),
  );
  return { pressure, changes };
}

it('signals pressure past the budget and relief below three quarters of it, once per change', () => {
  const { pressure, changes } = tracker(100);
  expect([50, 100, 101, 150, 90, 76, 75, 74, 80, 101].map((held) => pressure.observe(held))).toEqual([
    false,
    false,
    true,
    true,
    true,
    true,
    true,
    false,
    false,
    true,
  ]);
  expect(changes).toEqual([
    [true, 101],
    [false, 74],
    [true, 101],
  ]);
});

it('never signals with a budget of 0, and a budget turned off ends the pressure', () => {
  let budget = 0;
  const changes: boolean[] = [];
  const pressure = new BufferPressure(
    () => budget,
    (under) => changes.push(under),
  );
  expect(pressure.observe(10 ** 12)).toBe(false);
  budget = 10;
  expect(pressure.observe(11)).toBe(true);
  budget = 0;
  expect(pressure.observe(11)).toBe(false);
  expect(changes).toEqual([true, false]);
});
