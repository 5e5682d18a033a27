/**
 * Rate limit for repetitive log lines (refusals at the gateway port): per key, at most `maxLines`
 * lines per `intervalMs` window. A suppressed line is not lost without a trace: the next line of
 * the same key that gets through carries how many were suppressed before it. Metrics are not
 * affected; they count every event. Pure: time is passed in, nothing runs on a timer.
 */

export interface LogLimits {
  readonly maxLines: number;
  readonly intervalMs: number;
  /** Keys remembered at most; beyond, the least recently active key is forgotten. */
  readonly maxKeys: number;
}

export const DEFAULT_REFUSAL_LOG_LIMITS: LogLimits = { maxLines: 10, intervalMs: 10_000, maxKeys: 10_000 };

/** A line that may be written, with the number of lines of its key suppressed since the last one. */
export interface Admitted {
  readonly suppressed: number;
}

interface KeyWindow {
  startedAt: number;
  lines: number;
  suppressed: number;
}

export class LogLimiter {
  /** In order of last window start (a Map iterates in insertion order), oldest first. */
  private readonly windows = new Map<string, KeyWindow>();

  constructor(private readonly limits: LogLimits = DEFAULT_REFUSAL_LOG_LIMITS) {}

  get keys(): number {
    return this.windows.size;
  }

  /** The line of `key` to write now, or undefined to suppress it. */
  admit(key: string, now: number): Admitted | undefined {
    let window = this.windows.get(key);
    if (!window || now - window.startedAt >= this.limits.intervalMs || now < window.startedAt) {
      // A new window; what the previous one suppressed is still to be reported.
      window = { startedAt: now, lines: 0, suppressed: window?.suppressed ?? 0 };
      this.remember(key, window);
    }
    if (window.lines >= this.limits.maxLines) {
      window.suppressed++;
      return undefined;
    }
    window.lines++;
    const suppressed = window.suppressed;
    window.suppressed = 0;
    return { suppressed };
  }

  private remember(key: string, window: KeyWindow): void {
    // Re-inserted so that the Map's first key is the one whose window started longest ago.
    this.windows.delete(key);
    if (this.windows.size >= this.limits.maxKeys) {
      const oldest = this.windows.keys().next().value as string;
      this.windows.delete(oldest);
    }
    this.windows.set(key, window);
  }
}
