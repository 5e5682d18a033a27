/**
 * Abortive close of one side of a relay, so the peer behind it learns that the tunnel failed rather
 * than seeing a clean end of stream: a TCP RST for plain sockets, RST_STREAM(CANCEL) for HTTP/2
 * streams. TLS sockets have no public way to send a RST (resetAndDestroy() needs a bare TCP handle):
 * they are destroyed without close_notify, which only peers that check for truncation notice (Node
 * reports such an end as a clean one). TLS tunnels are only used by the HTTP/1.1 compatible protocol.
 */
import { EventEmitter, on } from 'node:events';
import { Socket } from 'node:net';
import { constants as h2 } from 'node:http2';
import type { Duplex } from 'node:stream';

/** The part of http2.Http2Stream the relay uses (the class itself is not exported by node:http2). */
interface Http2StreamLike extends Duplex {
  readonly rstCode: number | undefined;
  close(code?: number, callback?: () => void): void;
}

export function isHttp2Stream(stream: Duplex): stream is Http2StreamLike {
  return 'rstCode' in stream && typeof (stream as Partial<Http2StreamLike>).close === 'function';
}

function isPlainTcpSocket(stream: Duplex): stream is Socket {
  // TLSSocket extends Socket but its handle is a TLSWrap, on which resetAndDestroy() throws.
  return stream instanceof Socket && (stream as { encrypted?: boolean }).encrypted !== true;
}

/**
 * An instance of Node's internal AbortError, the one error class for which Http2Stream.destroy()
 * sends RST_STREAM with CANCEL instead of INTERNAL_ERROR. events.on() throws it synchronously for
 * an aborted signal; this is the only public way to obtain one.
 */
function cancelError(): Error {
  try {
    on(new EventEmitter(), 'never', { signal: ABORTED });
  } catch (err) {
    return err as Error;
  }
  return new Error('tunnel reset');
}
const ABORTED = AbortSignal.abort();

/** Destroys `stream` abortively. Idempotent; never throws. */
export function resetStream(stream: Duplex): void {
  if (stream.destroyed) return;
  try {
    if (isHttp2Stream(stream)) {
      if (stream.writableEnded) stream.close(h2.NGHTTP2_CANCEL);
      // close() would first end our half (END_STREAM: a clean end for the peer) and only then
      // send RST_STREAM; destroying with an AbortError sends RST_STREAM(CANCEL) alone.
      else stream.destroy(cancelError());
    } else if (isPlainTcpSocket(stream) && !stream.pending) {
      stream.resetAndDestroy();
    } else {
      stream.destroy();
    }
  } catch {
    stream.destroy();
  }
}

/** True when `stream` is an h2 stream closed by RST_STREAM with an error code. */
export function wasReset(stream: Duplex): boolean {
  if (!isHttp2Stream(stream)) return false;
  const code = stream.rstCode;
  return code !== undefined && code !== h2.NGHTTP2_NO_ERROR;
}

/** True when `stream` closed because its peer (or a local error) aborted it, not by a clean end. */
export function endedAbortively(stream: Duplex): boolean {
  if (wasReset(stream)) return true;
  return !(stream.readableEnded && stream.writableFinished);
}
