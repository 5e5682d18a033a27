/**
 * Changes the per-stream receive window of an h2 session at run time (buffer pressure, see
 * buffer-pressure.ts). An h2 SETTINGS change of the initial window also applies to open streams:
 * each stream's window moves by the difference, so a smaller value stops a peer from sending on
 * streams that already hold data.
 */
import type { Http2Session } from 'node:http2';

/** Sends a new initial window size to the peer of `session`; a closing session is left alone. */
export function applyStreamWindow(session: Http2Session, bytes: number): void {
  if (session.closed || session.destroyed) return;
  try {
    session.settings({ initialWindowSize: bytes });
  } catch {
    // Too many SETTINGS not yet acknowledged, or the session is going away: the next change retries.
  }
}
