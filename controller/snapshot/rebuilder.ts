/**
 * The debounced snapshot rebuild: changes come in bursts (a relist, a rollout); one rebuild
 * follows each burst, and the pause before it grows with the time a rebuild takes, so that with
 * many objects rebuilding does not eat the CPU the reconciles need.
 */
export interface SnapshotRebuilderOptions {
  /** Builds and publishes a snapshot; returns false when it could not yet (caches or token key missing). */
  readonly rebuild: () => boolean;
  /** Called with the duration of each completed rebuild (ms). */
  readonly onRebuilt?: (ms: number) => void;
  /** The shortest pause between a change and the rebuild. @default 20 */
  readonly minDelayMs?: number;
  /** The pause is at least this many times the duration of the last rebuild. @default 4 */
  readonly delayFactor?: number;
  readonly now?: () => number;
}

export class SnapshotRebuilder {
  private timer: NodeJS.Timeout | undefined;
  private lastBuildMs = 0;
  private closed = false;

  constructor(private readonly options: SnapshotRebuilderOptions) {}

  /** Asks for a rebuild; changes until it runs are coalesced into it. */
  schedule(): void {
    if (this.timer || this.closed) return;
    const delay = Math.max(this.options.minDelayMs ?? 20, this.lastBuildMs * (this.options.delayFactor ?? 4));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, delay);
  }

  /** Drops a pending rebuild and ignores later requests. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    const now = this.options.now ?? (() => performance.now());
    const started = now();
    if (!this.options.rebuild()) return;
    this.lastBuildMs = now() - started;
    this.options.onRebuilt?.(this.lastBuildMs);
  }
}
