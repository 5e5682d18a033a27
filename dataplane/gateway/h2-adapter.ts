/**
 * HTTP/2 on the gateway port (ALPN h2): the fast path (one request authorizes and opens a tunnel
 * stream) and the compatible requests, on sessions built over connections the TLS listener hands
 * over.
 */
import * as http2 from 'node:http2';
import type * as tls from 'node:tls';
import { BadRequestError, DataPlaneErrorCode } from '../errors';
import { applyStreamWindow } from '../h2-window';
import {
  AUTHZ_PATH,
  EXPORT_NAME_HEADER,
  HEALTHZ_PATH,
  MAX_AUTHZ_BODY_BYTES,
  parseFastPathHeaders,
} from '../protocol';
import { H2_SETTINGS, h2SessionOptions, widenConnectionWindow } from '../tuning';
import { attachConnection, connectionOf, expiredIdentity, type GatewayConnection } from './connection';
import type { GatewayContext } from './context';
import {
  errorResponse,
  handleAuthz,
  handleHealthz,
  serveTunnel,
  type SimpleResponse,
  type TunnelTarget,
} from './handlers';
import { readBody, type BodyError } from './read-body';

export class H2Adapter {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Per-stream receive window in effect when it differs from the configured one (buffer pressure). */
  private streamWindow: number | undefined;
  private closing = false;

  constructor(private readonly ctx: GatewayContext) {
    const limits = ctx.limits;
    this.server = http2.createServer({
      ...h2SessionOptions(),
      settings: {
        ...H2_SETTINGS,
        maxConcurrentStreams: limits.h2MaxConcurrentStreams,
        initialWindowSize: limits.h2StreamWindowBytes,
      },
    });
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  accept(socket: tls.TLSSocket): void {
    this.server.emit('connection', socket);
  }

  /**
   * After a certificate change: every session gets GOAWAY (its open streams, i.e. tunnels,
   * continue; the remote opens a new session). Returns how many sessions were retired.
   */
  retire(): number {
    let retired = 0;
    for (const session of this.sessions) {
      if (session.closed || session.destroyed) continue;
      session.close();
      retired++;
    }
    return retired;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** No new sessions; open ones get GOAWAY and their streams finish. */
  close(): void {
    this.closing = true;
    for (const session of this.sessions) session.close();
  }

  destroy(): void {
    this.closing = true;
    for (const session of this.sessions) session.destroy();
  }

  /**
   * Changes the receive window of every stream of every h2 session, open streams included (an h2
   * SETTINGS change), and of sessions to come; `undefined` restores the configured window.
   */
  setStreamWindow(bytes: number | undefined): void {
    this.streamWindow = bytes;
    const window = bytes ?? this.ctx.limits.h2StreamWindowBytes;
    for (const session of this.sessions) applyStreamWindow(session, window);
  }

  private onSession(session: http2.ServerHttp2Session): void {
    if (this.closing) {
      session.destroy();
      return;
    }
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    if (this.streamWindow !== undefined) applyStreamWindow(session, this.streamWindow);
    session.on('error', (err) => this.ctx.logger.debug({ err: err.message }, 'h2 session error'));
    // The session's socket is a proxy of the TLS socket: the record is read through it once and
    // kept on the session, whose socket is gone once it is destroyed.
    attachConnection(session, connectionOf(session.socket));
    // A session without streams for keepAliveTimeoutMs is closed. Besides idle clients, this ends
    // sessions nghttp2 has terminated (GOAWAY after a flood of resets, for instance) but whose client
    // keeps the connection open: nghttp2 ignores their input, so nothing else would ever close them.
    this.armSessionIdleTimer(session);
    try {
      widenConnectionWindow(session);
    } catch {
      /* session already closing */
    }
  }

  /**
   * (Re)starts the idle countdown of a session; called when it starts and when its last stream
   * closes. The 'timeout' listener is added once per session: setTimeout(ms, callback) would add
   * one more listener on every re-arm.
   */
  private armSessionIdleTimer(session: http2.Http2Session): void {
    if (session.destroyed) return;
    if (session.listenerCount('timeout') === 0) {
      session.on('timeout', () => {
        if (connectionOf(session).openStreams > 0) return; // re-armed when the last one closes
        this.ctx.metrics.errors.inc({ code: 'CL_ERR_SESSION_IDLE' });
        session.destroy();
      });
    }
    session.setTimeout(this.ctx.limits.keepAliveTimeoutMs);
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => {
      /* reported by the relay, or the stream was just refused */
    });
    const session = stream.session!;
    const connection: GatewayConnection = connectionOf(session);
    connection.openStreams++;
    stream.once('close', () => {
      connection.openStreams--;
      if (connection.openStreams === 0) this.armSessionIdleTimer(session);
    });
    const method = headers[':method'];
    const respond = (r: SimpleResponse): void => {
      if (stream.destroyed || stream.headersSent) return;
      stream.respond({ ':status': r.status, ...r.headers }, { endStream: r.body.length === 0 });
      if (r.body.length > 0) stream.end(r.body);
    };
    const expired = expiredIdentity(this.ctx, connection);
    if (expired) {
      stream.resume();
      respond(errorResponse(expired));
      session.close(); // no new streams; open tunnels finish
      return;
    }
    if (method === 'CONNECT') {
      let target: TunnelTarget;
      try {
        target =
          headers[EXPORT_NAME_HEADER] !== undefined
            ? { kind: 'fast', request: parseFastPathHeaders(headers) }
            : { kind: 'token', authorization: headers.authorization };
      } catch (err) {
        this.ctx.metrics.errors.inc({ code: DataPlaneErrorCode.badRequest });
        respond(errorResponse(err));
        return;
      }
      void serveTunnel(this.ctx, connection.peer, target, {
        stream,
        accept: () => stream.respond({ ':status': 200 }),
        refuse: respond,
      });
      return;
    }
    const path = headers[':path'];
    if (method === 'GET' && path === HEALTHZ_PATH) {
      stream.resume();
      respond(handleHealthz(this.ctx));
      return;
    }
    if (method === 'POST' && path === AUTHZ_PATH) {
      readBody(stream, MAX_AUTHZ_BODY_BYTES, this.ctx.limits.bodyTimeoutMs).then(
        (body) => respond(handleAuthz(this.ctx, connection.peer, body)),
        (err: BodyError) => {
          this.ctx.metrics.errors.inc({ code: err.code });
          respond({ status: err.status, headers: {}, body: err.message + '\n' });
          // The rest of the body is not wanted: free the stream instead of waiting for it.
          if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
        },
      );
      return;
    }
    stream.resume();
    this.ctx.metrics.errors.inc({ code: DataPlaneErrorCode.badRequest });
    respond(errorResponse(new BadRequestError(`unsupported request ${String(method)} ${String(path)}`)));
  }
}
