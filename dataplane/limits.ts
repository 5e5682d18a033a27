/**
 * Protective limits and timeouts of the data plane (robustness, not speed: speed lives in
 * tuning.ts). Every value can be overridden through DataPlaneOptions.limits (tests use short ones).
 */
import { H2_INITIAL_WINDOW_SIZE, H2_MAX_CONCURRENT_STREAMS } from './tuning';

export interface DataPlaneLimits {
  /** A TLS handshake on the gateway port must complete within this. */
  readonly handshakeTimeoutMs: number;
  /** An HTTP/1.1 request head must arrive within this after the connection (or the previous response). */
  readonly headersTimeoutMs: number;
  /** Idle HTTP/1.1 keep-alive connections (no tunnel) and h2 sessions without streams are closed after this. */
  readonly keepAliveTimeoutMs: number;
  /**
   * A request body (POST /authz, either protocol) must be complete within this after its head; a
   * peer that never finishes one cannot hold a stream or connection (408).
   */
  readonly bodyTimeoutMs: number;
  /**
   * Per-stream receive window the gateway port advertises to h2 peers. A tunnel whose export target
   * stops reading lets the peer fill this window, and it is then held in memory: the worst case of
   * buffered ingress data is about (open fast-path tunnels) x this. The default is tuning's (speed);
   * lower it to bound memory where export targets may stall.
   */
  readonly h2StreamWindowBytes: number;
  /**
   * Bytes the tunnels of this process may hold (data waiting for slow readers) before every h2
   * session is told to send less: per-stream receive windows drop to 64 KB until the held bytes are
   * below three quarters of this (see buffer-pressure.ts). 0 turns it off.
   */
  readonly bufferBudgetBytes: number;
  /** Streams one h2 session may have open at once on the gateway port (more are refused). */
  readonly h2MaxConcurrentStreams: number;
  /** Largest HTTP/1.1 request head (bytes); larger gets 431. */
  readonly maxHeaderBytes: number;
  /** Connecting to an export target (or a remote gateway) must succeed within this. */
  readonly connectTimeoutMs: number;
  /** Opening a tunnel at a remote gateway (authorization included) must succeed within this. */
  readonly tunnelOpenTimeoutMs: number;
  /** A tunnel with no byte in either direction for this long is reset. 0 = never. */
  readonly idleTimeoutMs: number;
  /** Concurrent tunnels, per direction (egress, ingress) and in total per remote peer. */
  readonly maxTunnels: number;
  readonly maxTunnelsPerPeer: number;
  /**
   * Connections the gateway port holds at once (TLS handshakes in progress included); more are
   * closed on accept. Protects the process's file descriptors, which the import listeners and the
   * connections to export targets need too, from a flood of connections. Each HTTP/1.1 tunnel is a
   * connection, so keep this above maxTunnels.
   */
  readonly maxGatewayConnections: number;
  /** Default grace period of close(): tunnels drain this long before they are reset. */
  readonly shutdownGraceMs: number;
  /** A gateway that answered ALPN with http/1.1 only is not asked for h2 again for this long. */
  readonly http1OnlyMemoryMs: number;
}

export const DEFAULT_LIMITS: DataPlaneLimits = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 60_000,
  bodyTimeoutMs: 10_000,
  h2MaxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS,
  h2StreamWindowBytes: H2_INITIAL_WINDOW_SIZE,
  bufferBudgetBytes: 256 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  connectTimeoutMs: 5_000,
  tunnelOpenTimeoutMs: 10_000,
  idleTimeoutMs: 3_600_000,
  maxTunnels: 20_000,
  maxTunnelsPerPeer: 10_000,
  maxGatewayConnections: 25_000,
  shutdownGraceMs: 10_000,
  http1OnlyMemoryMs: 60_000,
};
