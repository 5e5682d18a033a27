/**
 * The TLS listener of the gateway port: mutual TLS with the fabric CA, ALPN h2 and http/1.1. It
 * tracks every connection from TCP accept (so destroy() also ends handshakes in progress), gives
 * each its record, refuses connections authenticated under replaced certificates, and hands the
 * others to the protocol adapters.
 */
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { SnapshotTls } from '../../kernel/api/snapshot';
import { GATEWAY_TLS } from '../tls-settings';
import { NO_DELAY, STREAM_HIGH_WATER_MARK } from '../tuning';
import { attachConnection, connectionOf, GatewayConnection } from './connection';
import type { GatewayContext } from './context';

export const ALPN_PROTOCOLS = ['h2', 'http/1.1'];

export interface TlsListenerOptions {
  readonly host?: string;
  readonly port: number;
  /** Offer h2 in ALPN. Off, the port behaves like an upstream gateway (http/1.1 only). @default true */
  readonly offerH2?: boolean;
}

export class TlsListener {
  private readonly server: tls.Server;
  /** Connections past their handshake, for retiring and closing them. */
  readonly sockets = new Set<tls.TLSSocket>();
  private readonly rawSockets = new Set<Duplex>();
  private closing = false;
  private hasTls = false;
  /** Grows with every certificate change; connections record the one they were accepted under. */
  private tlsGeneration = 0;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly options: TlsListenerOptions,
    /** Receives each authenticated connection that may serve. */
    private readonly dispatch: (socket: tls.TLSSocket, connection: GatewayConnection) => void,
  ) {
    const limits = ctx.limits;
    this.server = tls.createServer({
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: options.offerH2 === false ? ['http/1.1'] : ALPN_PROTOCOLS,
      ...GATEWAY_TLS,
      handshakeTimeout: limits.handshakeTimeoutMs,
      // Not half-open: a client that sends FIN mid-handshake must be closed at once. Tunnels turn
      // half-open on when they start (the relay sets allowHalfOpen on both ends).
      highWaterMark: STREAM_HIGH_WATER_MARK,
    } as tls.TlsOptions);
    // Beyond this, Node closes new connections on accept (emitting 'drop'); counted as an error.
    this.server.maxConnections = limits.maxGatewayConnections;
    this.server.on('drop', () => ctx.metrics.errors.inc({ code: 'CL_ERR_TOO_MANY_CONNECTIONS' }));
    this.server.on('secureConnection', (socket) => this.onSecureConnection(socket));
    this.server.on('connection', (raw: Duplex) => {
      this.rawSockets.add(raw);
      // HTTP/1.1 tunnels relay on this connection itself (h2 sessions turn Nagle off on their own).
      (raw as Partial<Socket>).setNoDelay?.(NO_DELAY);
      attachConnection(raw, new GatewayConnection(this.tlsGeneration));
      raw.once('close', () => this.rawSockets.delete(raw));
    });
    this.server.on('tlsClientError', (err, socket) => {
      // With a listener, Node leaves closing the socket to us (handshake timeouts included).
      socket.destroy();
      ctx.metrics.errors.inc({ code: 'CL_ERR_TLS_HANDSHAKE' });
      ctx.logger.debug({ err: err.message }, 'TLS handshake refused');
    });
    this.server.on('error', (err) => ctx.logger.error({ err: err.message }, 'gateway listener error'));
  }

  /** Installs certificates for new connections; true when they replace earlier ones. */
  setTls(material: SnapshotTls): boolean {
    this.server.setSecureContext({ ca: material.ca, cert: material.cert, key: material.key, ...GATEWAY_TLS });
    this.tlsGeneration++;
    const replaced = this.hasTls;
    this.hasTls = true;
    return replaced;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  get listening(): boolean {
    return this.server.listening;
  }

  address(): AddressInfo | undefined {
    return (this.server.address() as AddressInfo | null) ?? undefined;
  }

  /** TCP connections held, handshakes in progress included. */
  get rawConnections(): number {
    return this.rawSockets.size;
  }

  /** Stops accepting; resolves once the listener is closed. Connections are the adapters' to end. */
  close(): Promise<void> {
    this.closing = true;
    return new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  /** Stops accepting and destroys every connection, handshakes in progress included. */
  destroy(): void {
    this.closing = true;
    if (this.server.listening) this.server.close();
    for (const socket of this.sockets) socket.destroy();
    for (const raw of this.rawSockets) raw.destroy();
  }

  private onSecureConnection(socket: tls.TLSSocket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    // The handshake began under certificates replaced before it completed: closed unused, the
    // remote reconnects against the new ones. (The server's TLSSocket wraps the accepted TCP socket
    // as `_parent`, not public API: without it such a race goes unnoticed.)
    const raw = (socket as { _parent?: object })._parent;
    const connection = attachConnection(socket, raw ? connectionOf(raw) : new GatewayConnection(undefined));
    if (connection.tlsGeneration !== undefined && connection.tlsGeneration !== this.tlsGeneration) {
      this.ctx.logger.debug('connection authenticated under replaced certificates closed');
      socket.destroy();
      return;
    }
    connection.authenticated(socket);
    this.ctx.metrics.tlsHandshakes.inc({
      protocol: socket.alpnProtocol || 'none',
      resumed: socket.isSessionReused() ? 'true' : 'false',
    });
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      connection.clearHeaderTimer();
    });
    socket.on('error', () => {
      /* reported by the owner (http server, h2 session or relay) */
    });
    this.dispatch(socket, connection);
  }
}
