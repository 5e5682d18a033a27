/** The debounced snapshot rebuild: bursts coalesce; the pause grows with the rebuild time. */
import { SnapshotRebuilder } from '../../../controller/snapshot/rebuilder';

describe('SnapshotRebuilder', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('a burst of changes gives one rebuild after the pause', () => {
    const rebuild = jest.fn(() => true);
    const r = new SnapshotRebuilder({ rebuild, now: () => 0 });
    for (let i = 0; i < 10; i++) r.schedule();
    jest.advanceTimersByTime(19);
    expect(rebuild).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(rebuild).toHaveBeenCalledTimes(1);
    r.schedule();
    jest.advanceTimersByTime(20);
    expect(rebuild).toHaveBeenCalledTimes(2);
  });

  test('the pause is four times the last rebuild, and a rebuild that could not run does not count', () => {
    let clock = 0;
    let ready = true;
    const rebuilt: number[] = [];
    const r = new SnapshotRebuilder({
      rebuild: () => {
        if (!ready) return false;
        clock += 50;
        return true;
      },
      onRebuilt: (ms) => rebuilt.push(ms),
      now: () => clock,
    });
    r.schedule();
    jest.advanceTimersByTime(20);
    expect(rebuilt).toEqual([50]);
    ready = false;
    r.schedule();
    jest.advanceTimersByTime(200); // ran, but not ready: the next pause stays 200
    expect(rebuilt).toEqual([50]);
    ready = true;
    r.schedule();
    jest.advanceTimersByTime(199);
    expect(rebuilt).toEqual([50]);
    jest.advanceTimersByTime(1);
    expect(rebuilt).toEqual([50, 50]);
  });

  test('close drops a pending rebuild and later requests', () => {
    const rebuild = jest.fn(() => true);
    const r = new SnapshotRebuilder({ rebuild });
    r.schedule();
    r.close();
    r.schedule();
    jest.advanceTimersByTime(1000);
    expect(rebuild).not.toHaveBeenCalled();
  });
});
