/**
 * Socket, TLS and HTTP/2 tuning of the data plane, in one place so the benchmark (bench/) and the
 * gateway use the same figures. Each value was chosen by measurement: docs/benchmarks.md records what
 * it bought. Pure constants and small option builders; no I/O.
 */
import type { ClientSessionOptions, SecureClientSessionOptions, ServerOptions, Settings } from 'node:http2';

/**
 * Read/write buffer of every tunnel endpoint (sockets and h2 streams). Larger chunks mean fewer
 * event-loop turns, fewer h2 DATA frames and fewer TLS records per byte; the relay never holds more
 * than this per direction per endpoint (backpressure), so it bounds memory per busy tunnel.
 */
export const STREAM_HIGH_WATER_MARK = 64 * 1024;

/**
 * The relay pauses a source only when its destination holds at least this much unsent data (or
 * the destination's own highWaterMark, if larger). Node's h2 streams have a fixed 16 KB
 * highWaterMark, so honouring their write() result alone would pause and resume the source for
 * every 64 KB read; this keeps the bound (memory stays flat) while letting a read through whole.
 */
export const RELAY_WRITE_BUFFER = 256 * 1024;

/**
 * Chunks at least this large open a write batch in the relay: the destination stays corked until
 * the end of the event-loop turn, so what was read in one turn leaves in one writev / h2 frame run.
 * Smaller chunks (request/response traffic) are written at once.
 */
export const RELAY_BATCH_MIN_CHUNK = 4096;

/**
 * Bytes of an import client read ahead while its tunnel is being opened, sent with the tunnel
 * request and kept for failover (egress/early-bytes.ts). A client's first message fits (a TLS
 * ClientHello, an HTTP request head, a database handshake); past this the client waits for the
 * tunnel. Held per connection being set up, so it bounds that memory: tunnel slots x 16 KB.
 */
export const EARLY_BYTES_LIMIT = 16 * 1024;

/** Nagle off on every TCP socket: the relay writes whole chunks, latency matters for request/response. */
export const NO_DELAY = true;

/** TCP keepalive on gateway and import sockets, to notice dead peers behind idle tunnels. */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

/**
 * HTTP/2 per-stream initial window. One stream must be able to fill the pipe alone (bandwidth x RTT
 * with event-loop delays of a few ms is well above the 64 KB default), yet an idle tunnel costs no
 * memory for it (windows are credit, not buffers).
 */
export const H2_INITIAL_WINDOW_SIZE = 8 * 1024 * 1024;

/** HTTP/2 connection-level window: room for many streams at full speed at once. */
export const H2_CONNECTION_WINDOW_SIZE = 64 * 1024 * 1024;

/** Largest h2 DATA frame: a whole relay chunk in one frame (fewer frame headers and nghttp2 callbacks). */
export const H2_MAX_FRAME_SIZE = 256 * 1024;

/** Streams a peer may open at once on one session (one per tunnel). */
export const H2_MAX_CONCURRENT_STREAMS = 10_000;

/** Largest header block we accept (source attributes travel in headers; keep it bounded). */
export const H2_MAX_HEADER_LIST_SIZE = 64 * 1024;

/** nghttp2 memory cap per session, in MB (the default 10 MB is hit by many concurrent fast streams). */
export const H2_MAX_SESSION_MEMORY_MB = 256;

/** Interval of keepalive pings on pooled sessions (a dead session is replaced when a ping fails). */
export const H2_PING_INTERVAL_MS = 10_000;

export const H2_SETTINGS: Settings = {
  initialWindowSize: H2_INITIAL_WINDOW_SIZE,
  maxFrameSize: H2_MAX_FRAME_SIZE,
  maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS,
  maxHeaderListSize: H2_MAX_HEADER_LIST_SIZE,
  enablePush: false,
};

/** Options shared by http2 server and client sessions. */
export function h2SessionOptions(): Pick<
  ServerOptions & ClientSessionOptions,
  'settings' | 'maxSessionMemory' | 'maxHeaderListPairs' | 'paddingStrategy'
> {
  return {
    settings: H2_SETTINGS,
    maxSessionMemory: H2_MAX_SESSION_MEMORY_MB,
    maxHeaderListPairs: 128,
  };
}

/** Extra client-session options (same settings as the server side). */
export function h2ClientSessionOptions(): Pick<SecureClientSessionOptions, 'settings' | 'maxSessionMemory'> {
  return { settings: H2_SETTINGS, maxSessionMemory: H2_MAX_SESSION_MEMORY_MB };
}

/**
 * Raises an h2 session's connection-level window beyond the 64 KB - 1 that HTTP/2 starts with
 * (settings do not cover it). Call once per session, on both ends, when it is connected.
 */
export function widenConnectionWindow(session: { setLocalWindowSize?(size: number): void }): void {
  session.setLocalWindowSize?.(H2_CONNECTION_WINDOW_SIZE);
}

/** TCP socket options for a tunnel endpoint (import-listener client sockets and export-side sockets). */
export function tuneSocket(socket: {
  setNoDelay(noDelay?: boolean): unknown;
  setKeepAlive(enable?: boolean, initialDelay?: number): unknown;
}): void {
  socket.setNoDelay(NO_DELAY);
  socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
}
