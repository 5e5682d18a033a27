/**
 * Bookkeeping of open tunnels on one side (egress or ingress): concurrency limits (in total and per
 * remote peer, slots taken before a tunnel is opened so setups in flight count), metrics when a
 * tunnel closes, and the abort handle used by graceful shutdown.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '../kernel/log';
import { startRelay, type RelayHandle, type RelayStats } from './relay';
import type { DataPlaneMetrics, Direction } from './metrics';

export interface TunnelSlot {
  /** Gives the slot back if the tunnel never ran. Idempotent. */
  release(): void;
  /**
   * Relays a and b (a = the side that asked for the tunnel) and releases the slot when done.
   * `sentAtoB`: bytes of `a` already written to `b` while the tunnel was opened (counted too).
   */
  run(service: string, a: Duplex, b: Duplex, sentAtoB?: number): Promise<RelayStats>;
}

export class TunnelTracker {
  private total = 0;
  private readonly perPeer = new Map<string, number>();
  /** Running relays and their two streams (for cancellation and the bytes they hold). */
  private readonly running = new Map<RelayHandle, readonly [Duplex, Duplex]>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly direction: Direction,
    private readonly limits: () => { maxTunnels: number; maxTunnelsPerPeer: number; idleTimeoutMs: number },
    private readonly metrics: DataPlaneMetrics,
    private readonly logger: Logger,
  ) {}

  get active(): number {
    return this.total;
  }

  /** A slot for one more tunnel with `peer`, or undefined when a limit is reached. */
  tryAcquire(peer: string): TunnelSlot | undefined {
    const { maxTunnels, maxTunnelsPerPeer } = this.limits();
    const forPeer = this.perPeer.get(peer) ?? 0;
    if (this.total >= maxTunnels || forPeer >= maxTunnelsPerPeer) return undefined;
    this.total++;
    this.perPeer.set(peer, forPeer + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.total--;
      const n = (this.perPeer.get(peer) ?? 1) - 1;
      if (n <= 0) this.perPeer.delete(peer);
      else this.perPeer.set(peer, n);
      if (this.total === 0) this.notifyIdle();
    };
    return {
      release,
      run: (service, a, b, sentAtoB = 0) => this.run(service, peer, a, b, sentAtoB, release),
    };
  }

  private async run(
    service: string,
    peer: string,
    a: Duplex,
    b: Duplex,
    sentAtoB: number,
    release: () => void,
  ): Promise<RelayStats> {
    const series = this.metrics.tunnelSeries(this.direction, service, peer);
    series.opened.inc();
    series.active.inc();
    try {
      const handle = startRelay(a, b, {
        idleTimeoutMs: this.limits().idleTimeoutMs,
        initialBytesAtoB: sentAtoB,
      });
      this.running.set(handle, [a, b]);
      // Client sockets start paused (pauseOnConnect) and response readers pause theirs: the relay
      // only attaches 'data' listeners, which do not restart an explicitly paused stream.
      a.resume();
      b.resume();
      const stats = await handle.done;
      this.running.delete(handle);
      series.closed(stats.end).inc();
      series.bytesIn.inc(stats.bytesAtoB);
      series.bytesOut.inc(stats.bytesBtoA);
      if (this.logger.isLevelEnabled('debug'))
        this.logger.debug(
          {
            direction: this.direction,
            service,
            peer,
            end: stats.end,
            bytesIn: stats.bytesAtoB,
            bytesOut: stats.bytesBtoA,
            durationMs: Math.round(stats.durationMs),
            err: stats.error?.message,
          },
          'tunnel closed',
        );
      return stats;
    } finally {
      series.active.dec();
      release();
    }
  }

  /**
   * Bytes the running tunnels hold in this process: received and not yet passed on (a stream's
   * read buffer, where an h2 stream keeps up to its window while the relay waits for a slow
   * reader) plus written and not yet sent. Kernel socket buffers are not counted.
   */
  heldBytes(): number {
    let held = 0;
    for (const [a, b] of this.running.values())
      held += a.readableLength + a.writableLength + b.readableLength + b.writableLength;
    return held;
  }

  /** Resolves when no tunnel is open (or being opened). */
  whenIdle(): Promise<void> {
    if (this.total === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resets every running tunnel (end of the shutdown grace period, destroy()). */
  abortAll(reason: Error): void {
    for (const handle of this.running.keys()) handle.cancel(reason);
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
