/**
 * One record per gateway connection, from TCP accept to close: what the TLS listener and the
 * HTTP/1.1 and HTTP/2 adapters know about it. The record is kept on the objects that stand for the
 * connection (the accepted TCP socket, its TLS socket, its h2 session) under one symbol, so each
 * layer reaches it from the object it is handed; an h2 session's `socket` (a proxy) forwards the
 * symbol to the TLS socket.
 */
import type * as tls from 'node:tls';
import { peerCertificateExpiry, peerNameOfSocket } from '../../kernel/identity';
import { IdentityMismatchError } from '../errors';
import type { GatewayContext } from './context';

const RECORD = Symbol('clusterlink.gatewayConnection');

export class GatewayConnection {
  /** The peer name authenticated by the handshake (first DNS SAN of the client certificate). */
  peer: string | undefined;
  /** When the client certificate the connection was authenticated with expires (ms). */
  certExpiry: number | undefined;
  /** HTTP/1.1: a CONNECT tunnel runs on this connection; it is never closed as idle. */
  tunnel = false;
  /** HTTP/1.1: a request is being answered. */
  busy = false;
  /** HTTP/1.1: to close once the request in progress is answered (certificates changed). */
  retired = false;
  /** h2: streams open on the session. */
  openStreams = 0;
  private headerTimer: NodeJS.Timeout | undefined;

  /** `tlsGeneration`: the certificates in effect when the TCP connection was accepted. */
  constructor(readonly tlsGeneration: number | undefined) {}

  /** Records what the completed handshake established. */
  authenticated(socket: tls.TLSSocket): void {
    this.peer = peerNameOfSocket(socket);
    this.certExpiry = peerCertificateExpiry(socket);
  }

  /** Runs `onTimeout` unless the timer is cleared or re-armed within `ms`. */
  armHeaderTimer(ms: number, onTimeout: () => void): void {
    this.clearHeaderTimer();
    this.headerTimer = setTimeout(() => {
      this.headerTimer = undefined;
      onTimeout();
    }, ms);
  }

  clearHeaderTimer(): void {
    if (this.headerTimer) clearTimeout(this.headerTimer);
    this.headerTimer = undefined;
  }
}

/** Stores `connection` on `holder` (a socket or an h2 session). */
export function attachConnection(holder: object, connection: GatewayConnection): GatewayConnection {
  (holder as { [RECORD]?: GatewayConnection })[RECORD] = connection;
  return connection;
}

/** The record of the connection `holder` stands for; a fresh one if it has none yet. */
export function connectionOf(holder: object): GatewayConnection {
  return (
    (holder as { [RECORD]?: GatewayConnection })[RECORD] ??
    attachConnection(holder, new GatewayConnection(undefined))
  );
}

/**
 * A connection lives longer than the handshake that checked its client certificate: a pooled h2
 * session or a kept-alive HTTP/1.1 connection would otherwise keep serving a peer whose
 * certificate has since expired. Each new request checks the expiry again.
 */
export function expiredIdentity(
  ctx: GatewayContext,
  connection: GatewayConnection,
): IdentityMismatchError | undefined {
  const expiry = connection.certExpiry;
  if (expiry === undefined || ctx.now() < expiry) return undefined;
  ctx.metrics.errors.inc({ code: 'CL_ERR_CERT_EXPIRED' });
  return new IdentityMismatchError('the client certificate of this connection has expired');
}
