/**
 * TLS material for outgoing connections to remote gateways: one SecureContext per certificate
 * generation (parsing PEM once, not per connection), SNI = remote peer name, and the server's
 * certificate must name that peer.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { SnapshotTls } from '../../controller/api/snapshot';

export class ClientTls {
  private context: tls.SecureContext | undefined;
  /** Grows with every certificate change; pooled sessions of an older generation are replaced. */
  generation = 0;

  update(material: SnapshotTls): void {
    this.context = tls.createSecureContext({
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      minVersion: 'TLSv1.2',
    });
    this.generation++;
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
      servername: isIp(sni) ? undefined : sni,
      ALPNProtocols: alpn,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(peerName, cert),
    };
  }
}

function isIp(name: string): boolean {
  return /^[0-9.]+$/.test(name) || name.includes(':');
}

/** Opens a TLS connection with a timeout; resolves once the handshake completed. */
export function connectTls(options: tls.ConnectionOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    // TLS over a TCP socket of our own, so that a tunnel can reset the TCP connection (tls-reset.ts).
    const raw = net.connect({ host: options.host, port: options.port as number, allowHalfOpen: true });
    raw.on('error', () => undefined); // surfaces as the TLS socket's error
    const socket = tls.connect({ ...options, socket: raw, allowHalfOpen: true } as tls.ConnectionOptions);
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
