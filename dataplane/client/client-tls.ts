/**
 * TLS material for outgoing connections to remote gateways: one SecureContext per certificate
 * generation (parsing PEM once, not per connection), SNI = remote peer name, and the server's
 * certificate must name that peer.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { SnapshotTls } from '../../kernel/api/snapshot';
import { GATEWAY_TLS } from '../tls-settings';
import { NO_DELAY } from '../tuning';

/** Remembered TLS sessions (resumption skips the certificate exchange and signatures). */
const MAX_SESSIONS = 1024;

export class ClientTls {
  private context: tls.SecureContext | undefined;
  private readonly sessions = new Map<string, Buffer>();
  /** Grows with every certificate change; pooled sessions of an older generation are replaced. */
  generation = 0;

  update(material: SnapshotTls): void {
    this.context = tls.createSecureContext({
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      ...GATEWAY_TLS,
    });
    this.generation++;
    this.sessions.clear(); // sessions of the old certificates must not be resumed
  }

  get ready(): boolean {
    return this.context !== undefined;
  }

  /**
   * Options for tls.connect to a gateway of `peerName`. The server certificate must name the peer,
   * whatever SNI is sent (`sni` defaults to the peer name).
   */
  connectOptions(
    peerName: string,
    host: string,
    port: number,
    alpn: string[],
    sni: string = peerName,
  ): tls.ConnectionOptions {
    return {
      host,
      port,
      secureContext: this.context,
      session: this.sessions.get(sessionKey(sni, host, port)),
      servername: isIp(sni) ? undefined : sni,
      ALPNProtocols: alpn,
      minVersion: GATEWAY_TLS.minVersion,
      rejectUnauthorized: true,
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(peerName, cert),
    };
  }

  /** Keeps the TLS session tickets `socket` receives, for the next connection to the same place. */
  rememberSessions(socket: tls.TLSSocket, options: tls.ConnectionOptions): void {
    const key = sessionKey(options.servername ?? '', String(options.host), Number(options.port));
    const generation = this.generation;
    socket.on('session', (session: Buffer) => {
      if (generation !== this.generation) return;
      this.sessions.delete(key);
      if (this.sessions.size >= MAX_SESSIONS)
        this.sessions.delete(this.sessions.keys().next().value as string);
      this.sessions.set(key, session);
    });
  }
}

function sessionKey(sni: string, host: string, port: number): string {
  return `${sni}@${host}:${port}`;
}

function isIp(name: string): boolean {
  return /^[0-9.]+$/.test(name) || name.includes(':');
}

/** Opens a TLS connection with a timeout; resolves once the handshake completed. */
export function connectTls(
  options: tls.ConnectionOptions,
  timeoutMs: number,
  sessions?: ClientTls,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    // TLS over a TCP socket of our own, so that a tunnel can reset the TCP connection (tls-reset.ts).
    const raw = net.connect({ host: options.host, port: options.port as number, allowHalfOpen: true });
    raw.on('error', () => undefined); // surfaces as the TLS socket's error
    // Tunnels of the compatible protocol carry request/response traffic on this connection itself
    // (h2 sessions turn Nagle off on their own).
    raw.setNoDelay(NO_DELAY);
    const socket = tls.connect({ ...options, socket: raw, allowHalfOpen: true } as tls.ConnectionOptions);
    sessions?.rememberSessions(socket, options);
    const timer = setTimeout(() => {
      socket.destroy();
      raw.destroy();
      reject(new Error(`TLS connect to ${options.host}:${options.port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      raw.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
