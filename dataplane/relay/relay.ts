/**
 * The byte relay between two duplex streams (net.Socket, tls.TLSSocket, http2 streams): the hot path
 * every tunnel runs on.
 *
 * Semantics:
 * - Backpressure both ways: when the destination's write buffer is full (its highWaterMark or
 *   RELAY_WRITE_BUFFER, the larger), the source is paused until 'drain'. Nothing more is buffered,
 *   so a stalled reader stalls the writer and memory stays flat.
 * - Half-close: the end of one side's readable half ends the other side's writable half; the other
 *   direction keeps flowing until it ends too. (`allowHalfOpen` is forced on for both streams, or Node
 *   would end a socket's writable half as soon as its readable half ends.)
 * - Errors and resets: when one side fails, or closes before both of its halves ended cleanly, the
 *   other side is reset (TCP RST / RST_STREAM CANCEL), see reset.ts.
 * - Idle timeout: with no byte in either direction for `idleTimeoutMs`, both sides are reset.
 * - Both sides are always destroyed at the end; the promise settles once both have emitted 'close'.
 *   It never rejects: how the relay ended is in the stats.
 *
 * Hot-path discipline: the per-chunk work is one counter update and one write; the handlers are
 * created once per relay, nothing is allocated or logged per chunk.
 */
import type { Duplex } from 'node:stream';
import * as tuning from '../tuning';
import { endedAbortively, isHttp2Stream, resetStream, wasReset } from './reset';

/** How a relay ended. */
export type RelayEnd =
  /** Both directions ended cleanly (half-close both ways). */
  | 'complete'
  /** One side failed with an error (e.g. ECONNRESET); `error` and `failedSide` say which. */
  | 'error'
  /** One side was closed or reset without an error event (e.g. RST_STREAM, destroy()). */
  | 'aborted'
  /** No byte moved for `idleTimeoutMs`. */
  | 'idle-timeout'
  /** The caller cancelled it (RelayHandle.cancel). */
  | 'cancelled';

export interface RelayStats {
  /** Bytes read from `a` and written to `b`. */
  readonly bytesAtoB: number;
  /** Bytes read from `b` and written to `a`. */
  readonly bytesBtoA: number;
  readonly end: RelayEnd;
  /** The side that failed or closed first, for 'error' and 'aborted'. */
  readonly failedSide?: 'a' | 'b';
  /** The error behind 'error' (or the reason given to cancel). */
  readonly error?: Error;
  readonly durationMs: number;
}

export interface RelayOptions {
  /** Reset both sides when no byte moved in either direction for this long. 0/absent = never. */
  readonly idleTimeoutMs?: number;
  /** Bytes of `a` already written to `b` before the relay started (counted in `bytesAtoB`). */
  readonly initialBytesAtoB?: number;
}

/** Idle detection granularity: the timer ticks this many times per idle period. */
const IDLE_TICKS = 4;

/**
 * Relays bytes between `a` and `b` until both directions ended or one side failed.
 * Resolves (never rejects) when both streams are closed.
 */
export function relay(a: Duplex, b: Duplex, options: RelayOptions = {}): Promise<RelayStats> {
  return startRelay(a, b, options).done;
}

/** A running relay: its outcome, and a way to cancel it without an AbortSignal per relay. */
export interface RelayHandle {
  readonly done: Promise<RelayStats>;
  /** Resets both sides; the relay ends as 'cancelled' with `reason`. */
  cancel(reason: Error): void;
}

export function startRelay(a: Duplex, b: Duplex, options: RelayOptions = {}): RelayHandle {
  let instance!: Relay;
  const done = new Promise<RelayStats>((resolve) => {
    instance = new Relay(a, b, options, resolve);
    instance.start();
  });
  return { done, cancel: (reason) => instance.cancel(reason) };
}

class Relay {
  private bytesAtoB = 0;
  private bytesBtoA = 0;
  private readonly startedAt = performance.now();
  private end: RelayEnd | undefined;
  private failedSide: 'a' | 'b' | undefined;
  private error: Error | undefined;
  private closedA = false;
  private closedB = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private bytesAtLastTick = -1;
  private idleSinceTick = 0;

  constructor(
    private readonly a: Duplex,
    private readonly b: Duplex,
    private readonly options: RelayOptions,
    private readonly resolve: (stats: RelayStats) => void,
  ) {}

  start(): void {
    const { a, b, options } = this;
    a.allowHalfOpen = true;
    b.allowHalfOpen = true;
    this.bytesAtoB = options.initialBytesAtoB ?? 0;

    // One closure per handler per relay (not per chunk).
    // Bulk chunks are written corked until the end of the event-loop turn, so that everything read in
    // one turn (h2 delivers DATA in TLS-record-sized pieces of <= 16 KB) leaves in one writev
    // instead of one syscall / one h2 frame per piece. Small chunks (request/response traffic) are
    // written at once unless a batch is already open (order is kept either way).
    let batchB = false;
    let batchA = false;
    const flushB = (): void => {
      batchB = false;
      b.uncork();
    };
    const flushA = (): void => {
      batchA = false;
      a.uncork();
    };
    const batchMin = tuning.RELAY_BATCH_MIN_CHUNK;
    const limitA = Math.max(a.writableHighWaterMark, tuning.RELAY_WRITE_BUFFER);
    const limitB = Math.max(b.writableHighWaterMark, tuning.RELAY_WRITE_BUFFER);
    const onDataA = (chunk: Buffer): void => {
      this.bytesAtoB += chunk.length;
      if (!batchB && chunk.length >= batchMin) {
        batchB = true;
        b.cork();
        setImmediate(flushB);
      }
      // write() is false past the stream's highWaterMark; 'drain' follows once it is empty.
      if (!b.write(chunk) && b.writableLength >= limitB) a.pause();
    };
    const onDataB = (chunk: Buffer): void => {
      this.bytesBtoA += chunk.length;
      if (!batchA && chunk.length >= batchMin) {
        batchA = true;
        a.cork();
        setImmediate(flushA);
      }
      if (!a.write(chunk) && a.writableLength >= limitA) b.pause();
    };
    a.on('data', onDataA);
    b.on('data', onDataB);
    b.on('drain', () => a.resume());
    a.on('drain', () => b.resume());
    // An h2 stream that received RST_STREAM also ends its readable half: that end is not a FIN.
    a.on('end', () => (wasReset(a) ? this.fail('a', 'aborted', undefined) : b.end()));
    b.on('end', () => (wasReset(b) ? this.fail('b', 'aborted', undefined) : a.end()));
    if (isHttp2Stream(a)) a.on('aborted', () => this.fail('a', 'aborted', undefined));
    if (isHttp2Stream(b)) b.on('aborted', () => this.fail('b', 'aborted', undefined));
    a.on('error', (err: Error) => this.fail('a', 'error', err));
    b.on('error', (err: Error) => this.fail('b', 'error', err));
    a.on('close', () => this.onClose('a'));
    b.on('close', () => this.onClose('b'));

    const idle = options.idleTimeoutMs ?? 0;
    if (idle > 0 && this.end === undefined) {
      const tick = Math.max(1, Math.floor(idle / IDLE_TICKS));
      this.idleTimer = setInterval(() => this.idleTick(idle, tick), tick);
      this.idleTimer.unref();
    }

    // A side whose readable half ended before the relay started (a client that sent its request and
    // FIN while the tunnel was being opened) never emits 'end' again: pass it on now.
    if (a.readableEnded && !wasReset(a)) b.end();
    if (b.readableEnded && !wasReset(b)) a.end();
    // A stream that was already closed before the relay started never emits 'close' again.
    if (a.destroyed && a.closed) this.onClose('a');
    if (b.destroyed && b.closed) this.onClose('b');
  }

  cancel(reason: Error): void {
    this.fail(undefined, 'cancelled', reason);
  }

  /** Counter check instead of a timestamp per chunk: idle once the byte total stood still long enough. */
  private idleTick(idle: number, tick: number): void {
    const total = this.bytesAtoB + this.bytesBtoA;
    if (total !== this.bytesAtLastTick) {
      this.bytesAtLastTick = total;
      this.idleSinceTick = 0;
      return;
    }
    this.idleSinceTick += tick;
    if (this.idleSinceTick >= idle) this.fail(undefined, 'idle-timeout', undefined);
  }

  /** Ends the relay abortively: records the first cause and resets both sides. */
  private fail(side: 'a' | 'b' | undefined, end: RelayEnd, error: Error | undefined): void {
    // A 'complete' relay still flushing its last bytes can yet fail (error, idle while flushing).
    if (this.end === undefined || this.end === 'complete') {
      this.end = end;
      this.failedSide = side;
      this.error = error;
    }
    this.stopTimer();
    resetStream(this.a);
    resetStream(this.b);
  }

  private onClose(side: 'a' | 'b'): void {
    if (side === 'a') {
      if (this.closedA) return;
      this.closedA = true;
    } else {
      if (this.closedB) return;
      this.closedB = true;
    }
    if (this.end === undefined) {
      const stream = side === 'a' ? this.a : this.b;
      if (endedAbortively(stream)) this.fail(side, 'aborted', undefined);
      else {
        // This side finished cleanly both ways; the other one must have too (its 'end' was relayed
        // here and our 'end' was relayed there), so it only remains to release it.
        const other = side === 'a' ? this.b : this.a;
        if (other.readableEnded && other.writableEnded) {
          this.end = 'complete';
          // Let the other side flush what it still has to write (our 'end' included) before releasing it.
          if (other.writableFinished || other.destroyed) other.destroy();
          else other.once('finish', () => other.destroy());
        } else {
          this.fail(side, 'aborted', undefined);
        }
      }
    }
    if (this.closedA && this.closedB) this.finish();
  }

  private stopTimer(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = undefined;
  }

  private finish(): void {
    this.stopTimer();
    const stats: RelayStats = {
      bytesAtoB: this.bytesAtoB,
      bytesBtoA: this.bytesBtoA,
      end: this.end ?? 'complete',
      ...(this.failedSide ? { failedSide: this.failedSide } : {}),
      ...(this.error ? { error: this.error } : {}),
      durationMs: performance.now() - this.startedAt,
    };
    this.resolve(stats);
  }
}
