import { TerminalError, WorkQueue, type ReconcileOutcome } from '../../../controller/k8s/workqueue';
import type { Clock } from '../../../controller/k8s/backoff';

/** A clock whose timers run only when the test advances time. */
class ManualClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }
  pending(): number[] {
    return this.timers.filter((t) => !t.cancelled).map((t) => t.at - this.t);
  }
  advance(ms: number) {
    this.t += ms;
    const due = this.timers.filter((t) => !t.cancelled && t.at <= this.t);
    this.timers = this.timers.filter((t) => !due.includes(t));
    for (const t of due) t.fn();
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  it('deduplicates keys that wait', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ name: 't', reconcile: async (k) => void seen.push(k) });
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).toBe(2);
    q.start();
    await q.whenIdle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('never runs one key twice at once, and runs it again if it was added meanwhile', async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const q = new WorkQueue({
      name: 't',
      concurrency: 4,
      reconcile: async () => {
        calls++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        if (calls === 1) await gate.promise;
        running--;
      },
    });
    q.start();
    q.add('a');
    await flush();
    q.add('a');
    q.add('a');
    await flush();
    expect(calls).toBe(1);
    gate.resolve();
    await q.whenIdle();
    await q.whenIdle();
    expect(calls).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it('runs different keys concurrently up to the limit', async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue({
      name: 't',
      concurrency: 2,
      reconcile: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await gate.promise;
        running--;
      },
    });
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    q.start();
    await flush();
    expect(running).toBe(2);
    expect(q.depth).toBe(2);
    gate.resolve();
    await q.whenIdle();
    expect(maxRunning).toBe(2);
  });

  it('retries a failing key with growing backoff and keeps serving other keys', async () => {
    const clock = new ManualClock();
    const outcomes: [string, ReconcileOutcome][] = [];
    let failuresLeft = 3;
    const q = new WorkQueue({
      name: 't',
      clock,
      backoff: { initialMs: 100, maxMs: 10_000, jitter: 0 },
      reconcile: async (k) => {
        if (k === 'bad' && failuresLeft-- > 0) throw new Error('boom');
      },
      onOutcome: (k, o) => outcomes.push([k, o]),
    });
    q.start();
    q.add('bad');
    q.add('good');
    await q.whenIdle();
    expect(outcomes).toEqual([
      ['bad', 'error'],
      ['good', 'success'],
    ]);
    expect(clock.pending()).toEqual([100]);
    clock.advance(100);
    await q.whenIdle();
    expect(clock.pending()).toEqual([200]);
    clock.advance(200);
    await q.whenIdle();
    expect(clock.pending()).toEqual([400]);
    clock.advance(400);
    await q.whenIdle();
    expect(outcomes.filter(([k]) => k === 'bad').map(([, o]) => o)).toEqual([
      'error',
      'error',
      'error',
      'success',
    ]);
    expect(clock.pending()).toEqual([]);
  });

  it('resets the backoff after a success', async () => {
    const clock = new ManualClock();
    let fail = true;
    const q = new WorkQueue({
      name: 't',
      clock,
      backoff: { initialMs: 100, maxMs: 10_000, jitter: 0 },
      reconcile: async () => {
        if (fail) throw new Error('x');
      },
    });
    q.start();
    q.add('k');
    await q.whenIdle();
    clock.advance(100);
    await q.whenIdle();
    expect(clock.pending()).toEqual([200]);
    fail = false;
    clock.advance(200);
    await q.whenIdle();
    fail = true;
    q.add('k');
    await q.whenIdle();
    expect(clock.pending()).toEqual([100]);
  });

  it('does not retry a terminal error', async () => {
    const clock = new ManualClock();
    const outcomes: ReconcileOutcome[] = [];
    const q = new WorkQueue({
      name: 't',
      clock,
      reconcile: async () => {
        throw new TerminalError('the object must change');
      },
      onOutcome: (_k, o) => outcomes.push(o),
    });
    q.start();
    q.add('k');
    await q.whenIdle();
    expect(outcomes).toEqual(['terminal']);
    expect(clock.pending()).toEqual([]);
  });

  it('requeues after the delay a reconcile asks for', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const q = new WorkQueue({
      name: 't',
      clock,
      reconcile: async () => {
        calls++;
        return calls === 1 ? { requeueAfterMs: 5000 } : undefined;
      },
    });
    q.start();
    q.add('k');
    await q.whenIdle();
    expect(clock.pending()).toEqual([5000]);
    expect(q.delayedCount).toBe(1);
    clock.advance(5000);
    await q.whenIdle();
    expect(calls).toBe(2);
  });

  it('an earlier schedule wins over a later one, and add() cancels a pending delay', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ name: 't', clock, reconcile: async () => undefined });
    q.addAfter('k', 1000);
    q.addAfter('k', 5000);
    expect(clock.pending()).toEqual([1000]);
    q.addAfter('k', 500);
    expect(clock.pending()).toEqual([500]);
    q.add('k');
    expect(clock.pending()).toEqual([]);
    expect(q.depth).toBe(1);
  });

  it('isolates a synchronous throw and a throwing observer', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const q = new WorkQueue({
      name: 't',
      clock,
      reconcile: (k) => {
        if (k === 'sync') throw new Error('sync throw');
        seen.push(k);
        return Promise.resolve();
      },
      onOutcome: () => {
        throw new Error('observer');
      },
    });
    q.start();
    q.add('sync');
    q.add('ok');
    await q.whenIdle();
    expect(seen).toEqual(['ok']);
    expect(clock.pending()).toHaveLength(1);
  });

  it('holds keys while stopped and processes them after start', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ name: 't', reconcile: async (k) => void seen.push(k) });
    q.add('a');
    await flush();
    expect(seen).toEqual([]);
    q.start();
    await q.whenIdle();
    expect(seen).toEqual(['a']);
    await q.stop();
    q.add('b');
    await flush();
    expect(seen).toEqual(['a']);
  });

  it('spreads retries out once the overall retry budget is spent', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({
      name: 't',
      clock,
      backoff: { initialMs: 10, maxMs: 10, jitter: 0 },
      retryBudget: { perSecond: 10, burst: 2 },
      reconcile: async () => {
        throw new Error('down');
      },
    });
    q.start();
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await q.whenIdle();
    // Two retries fit the burst (after the 10 ms backoff); the next ones wait 100 ms per token.
    expect(clock.pending().sort((x, y) => x - y)).toEqual([10, 10, 100, 200]);
  });
});
