/**
 * Serves snapshots to this site's data-plane replicas over mutual TLS (HTTPS long-poll):
 * `GET /v1/snapshot?after=<version>&origin=<origin>` answers at once with the current snapshot
 * when its version or origin differs from the client's, otherwise waits for the next one (204
 * after LONG_POLL_MS).
 *
 * The snapshot carries this site's private key and token key, so only a client presenting this
 * site's own peer certificate (chained to the fabric CA, first DNS SAN = local peer name) is served.
 */
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SNAPSHOT_PORT } from '../../kernel/api/conventions';
import type { GatewaySnapshot, SnapshotSource } from '../../kernel/api/snapshot';
import { firstDnsSan } from '../../kernel/identity';
import type { Logger } from '../../kernel/log';
import { clientLacks, LONG_POLL_MS, SNAPSHOT_PATH } from './wire';

export interface SnapshotServerOptions {
  readonly source: SnapshotSource;
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  /** Clients must present a certificate for this name (the local peer). */
  readonly peerName: string;
  readonly host?: string;
  /** @default 9444; 0 = ephemeral */
  readonly port?: number;
  readonly longPollMs?: number;
  readonly logger?: Logger;
}

export class SnapshotServer {
  private readonly server: https.Server;
  private current: GatewaySnapshot | undefined;
  /** The current snapshot serialized once, shared by every replica's request. */
  private body = '';
  private waiters = new Set<(s: GatewaySnapshot) => void>();
  private readonly sockets = new Set<Socket>();
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  /** The certificates in effect, and those each connection was authenticated with. */
  private tls: SnapshotServerOptions['tls'];
  private readonly connectionTls = new WeakMap<object, SnapshotServerOptions['tls']>();

  constructor(private readonly options: SnapshotServerOptions) {
    this.tls = options.tls;
    this.server = https.createServer(
      {
        ca: options.tls.ca,
        cert: options.tls.cert,
        key: options.tls.key,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
      },
      (req, res) => this.handle(req, res),
    );
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('secureConnection', (s: TLSSocket) => this.connectionTls.set(s, this.tls));
    this.server.on('tlsClientError', (err) => {
      options.logger?.debug({ err: err.message }, 'snapshot client TLS failure');
    });
  }

  /**
   * New certificates for new connections. A connection authenticated under older ones closes once
   * it has delivered a snapshot carrying the new ones: the data plane then reconnects with them.
   * Not earlier: a data plane that reconnected before learning them would be refused, and could
   * then learn them only from its own certificate files.
   */
  setTls(tls: { readonly ca: string; readonly cert: string; readonly key: string }): void {
    this.server.setSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    this.tls = tls;
  }

  /** Asks the client to reconnect after this answer when it delivers the certificates now in effect. */
  private closeIfOutdated(
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
    delivered: GatewaySnapshot,
  ): void {
    const tls = this.tls;
    if (this.connectionTls.get(req.socket) === tls) return;
    const same =
      delivered.tls.ca === tls.ca && delivered.tls.cert === tls.cert && delivered.tls.key === tls.key;
    if (same) res.setHeader('connection', 'close');
  }

  get address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get waiting(): number {
    return this.waiters.size;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.options.source.subscribe((s) => {
      this.current = s;
      this.body = JSON.stringify(s);
      const waiters = [...this.waiters];
      this.waiters.clear();
      for (const w of waiters) w(s);
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? SNAPSHOT_PORT, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://snapshot');
    if (req.method !== 'GET' || url.pathname !== SNAPSHOT_PATH) {
      res.writeHead(404).end();
      return;
    }
    const cert = (req.socket as TLSSocket).getPeerCertificate();
    const name = firstDnsSan(cert?.subjectaltname);
    if (name !== this.options.peerName) {
      this.options.logger?.warn({ peer: name }, 'snapshot request from another identity refused');
      res.writeHead(403, { 'content-type': 'text/plain' }).end('only this site may fetch its snapshot\n');
      return;
    }
    const send = (s: GatewaySnapshot) => {
      const body = s === this.current ? this.body : JSON.stringify(s);
      this.closeIfOutdated(req, res, s);
      res
        .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
        .end(body);
    };
    if (this.current && clientLacks(this.current, url.searchParams)) return send(this.current);
    if (this.closed) {
      res.writeHead(503).end();
      return;
    }
    const waiter = (s: GatewaySnapshot) => {
      clearTimeout(timer);
      send(s);
    };
    const timer = setTimeout(() => {
      this.waiters.delete(waiter);
      res.writeHead(204).end();
    }, this.options.longPollMs ?? LONG_POLL_MS);
    this.waiters.add(waiter);
    res.on('close', () => {
      clearTimeout(timer);
      this.waiters.delete(waiter);
    });
  }

  /** Stops listening and ends every connection (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.waiters.clear();
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closing;
  }
}
