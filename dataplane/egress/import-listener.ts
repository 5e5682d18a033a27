/**
 * One TCP listener per Import. Client sockets start paused (pauseOnConnect): what is read before a
 * tunnel is open is read by egress/early-bytes.ts, which keeps it for failover, so failing over
 * between sources is invisible to the client.
 */
import * as net from 'node:net';
import type { SnapshotImport } from '../../kernel/api/snapshot';
import { DataPlaneError, DataPlaneErrorCode } from '../errors';
import { STREAM_HIGH_WATER_MARK } from '../tuning';

export class ImportListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    public spec: SnapshotImport,
    onClient: (socket: net.Socket, listener: ImportListener) => void,
  ) {
    this.server = net.createServer({
      pauseOnConnect: true,
      allowHalfOpen: true,
      highWaterMark: STREAM_HIGH_WATER_MARK,
    } as net.ServerOpts);
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.on('error', () => {
        /* reported by the relay */
      });
      onClient(socket, this);
    });
  }

  listen(): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(
          new DataPlaneError(
            DataPlaneErrorCode.listen,
            `import ${this.spec.namespace}/${this.spec.name} cannot listen on ${this.spec.listenHost}:${this.spec.listenPort}: ${err.message}`,
            { cause: err },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(this.spec.listenPort, this.spec.listenHost, () => {
        this.server.off('error', onError);
        this.server.on('error', () => undefined);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  address(): net.AddressInfo | undefined {
    return (this.server.address() as net.AddressInfo | null) ?? undefined;
  }

  /** True when `next` can keep this listener (same address). */
  sameAddress(next: SnapshotImport): boolean {
    return next.listenHost === this.spec.listenHost && next.listenPort === this.spec.listenPort;
  }

  /** Stops accepting. Established tunnels continue (they belong to the tunnel tracker). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  /** Resets clients still waiting for their tunnel (sockets of running tunnels are the relay's). */
  get pendingSockets(): ReadonlySet<net.Socket> {
    return this.sockets;
  }
}
