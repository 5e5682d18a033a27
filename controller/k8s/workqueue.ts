/**
 * A keyed work queue in the manner of client-go: keys are deduplicated while waiting, a key is
 * never processed by two workers at once (a key added while it is being processed runs again
 * afterwards), failures are retried with per-key exponential backoff, and one reconcile's
 * exception never reaches the others.
 */
import { ClusterLinkError } from '../../kernel/errors';
import { backoffDelay, systemClock, type BackoffPolicy, type Clock } from './backoff';

/** What a reconcile returns: nothing = done; `requeueAfterMs` = look again later (not a failure). */
export type ReconcileResult = void | { readonly requeueAfterMs: number };

export type ReconcileOutcome = 'success' | 'requeue' | 'error' | 'terminal';

/** Thrown by a reconcile when retrying cannot help (the object itself must change first). */
export class TerminalError extends ClusterLinkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CL_ERR_RECONCILE_TERMINAL', message, options);
  }
}

export interface WorkQueueOptions {
  readonly name: string;
  readonly reconcile: (key: string) => Promise<ReconcileResult>;
  /** @default 4 */
  readonly concurrency?: number;
  /** Per-key retry backoff after errors. @default 100 ms doubling to 5 minutes */
  readonly backoff?: BackoffPolicy;
  readonly clock?: Clock;
  /**
   * Overall budget for retries after errors (a token bucket, as client-go's default controller
   * rate limiter): when many keys fail at once, retries spread out instead of hammering the API
   * server. @default 10 per second, bursts of 100
   */
  readonly retryBudget?: { readonly perSecond: number; readonly burst: number };
  /** Called after every reconcile (metrics, logs). */
  readonly onOutcome?: (key: string, outcome: ReconcileOutcome, durationMs: number, error?: unknown) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while being processed: they go back in the queue when their reconcile ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; cancel(): void }>();
  private readonly clock: Clock;
  private running = false;
  private active = 0;
  private tokens: number;
  private tokensAt: number;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkQueueOptions) {
    this.clock = options.clock ?? systemClock;
    this.tokens = options.retryBudget?.burst ?? 100;
    this.tokensAt = this.clock.now();
  }

  /** Delay the retry budget imposes on one more retry now (and takes its token). */
  private budgetDelay(): number {
    const { perSecond, burst } = this.options.retryBudget ?? { perSecond: 10, burst: 100 };
    const now = this.clock.now();
    this.tokens = Math.min(burst, this.tokens + ((now - this.tokensAt) * perSecond) / 1000);
    this.tokensAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / perSecond);
  }

  get name(): string {
    return this.options.name;
  }

  /** Keys waiting to be processed (not counting delayed retries). */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Keys scheduled for a later retry. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops taking new work and resolves when the reconciles in flight have ended. Pending keys stay queued. */
  async stop(): Promise<void> {
    this.running = false;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    if (this.active === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  add(key: string): void {
    const pending = this.delayed.get(key);
    if (pending) {
      pending.cancel();
      this.delayed.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds `key` after `ms`, unless it is added sooner; an earlier schedule wins over a later one. */
  addAfter(key: string, ms: number): void {
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, cancel: timer.cancel });
  }

  /** Resolves when nothing is queued or running (delayed retries do not count). Tests and benchmarks use it. */
  whenIdle(): Promise<void> {
    if (this.active === 0 && this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    const concurrency = this.options.concurrency ?? 4;
    while (this.running && this.active < concurrency && this.depth > 0) {
      const key = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.queued.delete(key);
      this.processing.add(key);
      this.active++;
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const started = this.clock.now();
    let outcome: ReconcileOutcome;
    let error: unknown;
    let retryAfter: number | undefined;
    try {
      const result = await this.options.reconcile(key);
      this.failures.delete(key);
      if (result && result.requeueAfterMs >= 0) {
        outcome = 'requeue';
        retryAfter = result.requeueAfterMs;
      } else {
        outcome = 'success';
      }
    } catch (err) {
      error = err;
      if (err instanceof TerminalError) {
        outcome = 'terminal';
        this.failures.delete(key);
      } else {
        outcome = 'error';
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        retryAfter = Math.max(
          backoffDelay(this.options.backoff ?? { initialMs: 100, maxMs: 300_000 }, n),
          this.budgetDelay(),
        );
      }
    }
    this.processing.delete(key);
    this.active--;
    try {
      this.options.onOutcome?.(key, outcome, this.clock.now() - started, error);
    } catch {
      // an observer's failure is not the queue's
    }
    if (this.dirty.delete(key)) this.add(key);
    else if (retryAfter !== undefined && this.running) this.addAfter(key, retryAfter);
    this.pump();
    if (this.active === 0 && (this.depth === 0 || !this.running)) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
