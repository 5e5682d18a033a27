/**
 * A budget for the bytes the data plane's tunnels hold.
 *
 * A tunnel whose receiving side stops reading (an export target that stalls, a client that does
 * not read its responses) lets the sending gateway fill that tunnel's h2 stream window, and those
 * bytes wait in this process. Windows are sized for speed (8 MB), so many stalled tunnels could hold
 * gigabytes. The data plane therefore sums what its tunnels hold (TunnelTracker.heldBytes: read and
 * not yet passed on, written and not yet sent) and, past the budget, shrinks the per-stream receive
 * window of every h2 session (an h2 SETTINGS change, which also applies to open streams): peers
 * stop sending on streams that hold data, and tunnels opened meanwhile start with a small window.
 * Below three quarters of the budget the windows grow back. What was received before the change
 * stays held until its reader takes it, so the bound is the budget plus what arrives within one
 * sample interval.
 *
 * This module is the decision (hysteresis); the caller samples and changes the windows.
 */

/** Receive window of every stream while under pressure. */
export const PRESSURE_STREAM_WINDOW = 64 * 1024;

/** Back to normal windows below this share of the budget. */
const RELIEF_SHARE = 0.75;

export class BufferPressure {
  private under = false;

  constructor(
    /** Budget in bytes; 0 turns the mechanism off. Read at each sample (limits can change). */
    private readonly budget: () => number,
    private readonly onChange: (underPressure: boolean, heldBytes: number, budget: number) => void,
  ) {}

  get underPressure(): boolean {
    return this.under;
  }

  /** Feeds one sample of the bytes held in buffers; returns whether the process is under pressure. */
  observe(heldBytes: number): boolean {
    const budget = this.budget();
    const next = budget > 0 && (this.under ? heldBytes >= budget * RELIEF_SHARE : heldBytes > budget);
    if (next !== this.under) {
      this.under = next;
      this.onChange(next, heldBytes, budget);
    }
    return this.under;
  }
}
