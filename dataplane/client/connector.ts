/**
 * Opens a tunnel to an export at a remote peer: over a pooled h2 session (fast path) when the
 * gateway speaks h2, otherwise with the compatible HTTP/1.1 protocol. Tries the peer's gateways in
 * order; a refusal (policy, unknown export...) is final, a connection failure moves to the next.
 */
import type { Duplex } from 'node:stream';
import type { SnapshotPeer } from '../../kernel/api/snapshot';
import type { Logger } from '../../kernel/log';
import type { Attributes } from '../../kernel/policy/types';
import { DataPlaneError, DataPlaneErrorCode, errorCode, PeerUnreachableError } from '../errors';
import { DATAPLANE_SNI_PREFIX, type ExportRef } from '../protocol';
import { resetTcpOnAbortiveDestroy } from '../tls-reset';
import { ClientTls, connectTls } from './client-tls';
import { openFastPathStream, type EarlyBytesSink } from './h2-tunnel';
import { connectWithToken, requestToken } from './http1-client';
import { H2SessionPool } from './session-pool';

export type TunnelProtocol = 'h2' | 'http/1.1';

export interface OpenedTunnel {
  readonly stream: Duplex;
  readonly protocol: TunnelProtocol;
}

/** Answers from the remote that another gateway of the same peer would repeat. */
const FINAL_CODES = new Set<string>([
  DataPlaneErrorCode.policyDenied,
  DataPlaneErrorCode.noSuchExport,
  DataPlaneErrorCode.identityMismatch,
  DataPlaneErrorCode.badToken,
  DataPlaneErrorCode.badRequest,
]);

export function isFinalRefusal(err: unknown): boolean {
  return FINAL_CODES.has(errorCode(err));
}

export interface ConnectorOptions {
  readonly connectTimeoutMs: number;
  readonly tunnelOpenTimeoutMs: number;
  /** Use the compatible protocol even towards h2 gateways (tests, interop checks). */
  readonly forceHttp1?: boolean;
}

export class TunnelConnector {
  constructor(
    private readonly tls: ClientTls,
    private readonly pool: H2SessionPool,
    private readonly options: () => ConnectorOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * `early`, when given, receives the fast-path request stream as soon as it is sent, so the
   * client's first bytes travel with it; the compatible protocol cannot carry them (the caller
   * writes them once the tunnel is open).
   */
  async open(
    peer: SnapshotPeer,
    ref: ExportRef,
    sourceAttributes: Attributes,
    early?: EarlyBytesSink,
  ): Promise<OpenedTunnel> {
    if (!this.tls.ready) throw new DataPlaneError(DataPlaneErrorCode.notStarted, 'no certificates yet');
    let lastError: unknown;
    for (const gateway of peer.gateways) {
      try {
        return await this.openAt(peer.name, gateway.host, gateway.port, ref, sourceAttributes, early);
      } catch (err) {
        if (isFinalRefusal(err)) throw err;
        lastError = err;
        this.logger.debug(
          { peer: peer.name, gateway: `${gateway.host}:${gateway.port}`, err: (err as Error).message },
          'gateway failed',
        );
      }
    }
    throw new PeerUnreachableError(
      `no gateway of peer ${peer.name} opened the tunnel: ${lastError === undefined ? 'no gateways' : String((lastError as Error).message ?? lastError)}`,
      { cause: lastError },
    );
  }

  private async openAt(
    peer: string,
    host: string,
    port: number,
    ref: ExportRef,
    attrs: Attributes,
    early: EarlyBytesSink | undefined,
  ): Promise<OpenedTunnel> {
    const opts = this.options();
    if (!opts.forceHttp1) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const acquired = await this.pool.acquire(peer, host, port);
        if (acquired.kind !== 'h2') break;
        try {
          const stream = await openFastPathStream(
            acquired.session,
            ref,
            attrs,
            opts.tunnelOpenTimeoutMs,
            early,
          );
          return { stream, protocol: 'h2' };
        } catch (err) {
          // A pooled session may have died unnoticed (remote restarted): retry once on a fresh one.
          if (isFinalRefusal(err) || errorCode(err) !== DataPlaneErrorCode.peerUnreachable || acquired.fresh)
            throw err;
          this.pool.discard(peer, host, port, acquired.session);
        }
      }
    }
    return { stream: await this.openHttp1(peer, host, port, ref, attrs, opts), protocol: 'http/1.1' };
  }

  private async openHttp1(
    peer: string,
    host: string,
    port: number,
    ref: ExportRef,
    attrs: Attributes,
    opts: ConnectorOptions,
  ): Promise<Duplex> {
    const tlsOptions = this.tls.connectOptions(peer, host, port, ['http/1.1']);
    let socket = await connectTls(tlsOptions, opts.connectTimeoutMs, this.tls);
    try {
      const { token, reusable } = await requestToken(socket, peer, ref, attrs, opts.tunnelOpenTimeoutMs);
      if (!reusable) {
        // An upstream gateway: its data plane answers on SNI dataplane.<peer>.
        socket.destroy();
        const dataplaneOptions = this.tls.connectOptions(
          peer,
          host,
          port,
          ['http/1.1'],
          DATAPLANE_SNI_PREFIX + peer,
        );
        socket = await connectTls(dataplaneOptions, opts.connectTimeoutMs, this.tls);
      }
      await connectWithToken(socket, peer, token, opts.tunnelOpenTimeoutMs);
      resetTcpOnAbortiveDestroy(socket);
      return socket;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }
}
