/**
 * The gateway port: a TLS listener (tls-listener.ts) that hands each connection to the HTTP/2
 * adapter (fast path and compatible requests, h2-adapter.ts) or the HTTP/1.1 adapter (the
 * upstream-compatible protocol, http1-adapter.ts), both driven by the same handlers. Each
 * connection carries one record (connection.ts).
 */
import type { AddressInfo } from 'node:net';
import type { SnapshotTls } from '../../kernel/api/snapshot';
import type { GatewayContext } from './context';
import { H2Adapter } from './h2-adapter';
import { Http1Adapter } from './http1-adapter';
import { TlsListener, type TlsListenerOptions } from './tls-listener';

export { ALPN_PROTOCOLS } from './tls-listener';
export type GatewayServerOptions = TlsListenerOptions;

export class GatewayServer {
  private readonly listener: TlsListener;
  private readonly h1: Http1Adapter;
  private readonly h2: H2Adapter;

  constructor(
    private readonly ctx: GatewayContext,
    options: GatewayServerOptions,
  ) {
    this.h1 = new Http1Adapter(ctx);
    this.h2 = new H2Adapter(ctx);
    this.listener = new TlsListener(ctx, options, (socket, connection) => {
      // http/1.1 or no ALPN (clients that do not negotiate ALPN speak HTTP/1.1).
      if (socket.alpnProtocol === 'h2') this.h2.accept(socket);
      else this.h1.accept(socket, connection);
    });
  }

  /**
   * Installs new certificates for new connections. Connections authenticated under the previous
   * ones then serve no new work, so that a remote the new CA no longer trusts (or that no longer
   * trusts us) cannot keep using them: see retireConnections.
   */
  setTls(material: SnapshotTls): void {
    if (this.listener.setTls(material)) this.retireConnections();
  }

  /**
   * After a certificate change: h2 sessions get GOAWAY (their open streams, i.e. tunnels, continue;
   * the remote opens a new session, handshaking against the new material); idle HTTP/1.1
   * connections (kept-alive heartbeats, /authz) close, busy ones once answered; established
   * HTTP/1.1 CONNECT tunnels continue. Every connection is retired, not only those whose peer the
   * new CA rejects: a re-handshake per remote gateway is cheap and rare, and the handshake itself
   * is then the only place that decides trust. A handshake in progress at the swap completes on the
   * old material: such a connection is closed before it serves anything (TlsListener).
   */
  retireConnections(): { sessions: number; connections: number } {
    const sessions = this.h2.retire();
    const connections = this.h1.retire(this.listener.sockets);
    if (sessions + connections > 0) {
      this.ctx.logger.info({ sessions, connections }, 'certificates changed: earlier connections retired');
    }
    return { sessions, connections };
  }

  listen(): Promise<AddressInfo> {
    return this.listener.listen();
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  address(): AddressInfo | undefined {
    return this.listener.address();
  }

  /** Stops accepting; h2 sessions get GOAWAY (their streams finish); idle HTTP/1.1 connections close. */
  close(): Promise<void> {
    const closed = this.listener.close();
    this.h2.close();
    this.h1.close(this.listener.sockets);
    return closed;
  }

  /** Destroys every connection (end of the grace period). */
  destroy(): void {
    this.h2.destroy();
    this.listener.destroy();
  }

  /** What the port holds: TCP connections, TLS connections, h2 sessions (leak checks). */
  held(): { raw: number; tls: number; sessions: number } {
    return {
      raw: this.listener.rawConnections,
      tls: this.listener.sockets.size,
      sessions: this.h2.sessionCount,
    };
  }

  /** See H2Adapter.setStreamWindow (buffer pressure). */
  setStreamWindow(bytes: number | undefined): void {
    this.h2.setStreamWindow(bytes);
  }
}
