/**
 * The gateway port: one TLS listener (mutual TLS with the fabric CA, ALPN h2 and http/1.1) that hands
 * each connection to an HTTP/2 server (fast path and compatible requests) or an HTTP/1.1 server (the
 * upstream-compatible protocol), both driven by the same handlers.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { SnapshotTls } from '../../kernel/api/snapshot';
import { DataPlaneErrorCode } from '../errors';
import { peerCertificateExpiry, peerNameOfSocket } from '../../kernel/identity';
import { resetTcpOnAbortiveDestroy } from '../tls-reset';
import {
  AUTHZ_PATH,
  HEALTHZ_PATH,
  MAX_AUTHZ_BODY_BYTES,
  parseFastPathHeaders,
  EXPORT_NAME_HEADER,
} from '../protocol';
import {
  H2_SETTINGS,
  h2SessionOptions,
  NO_DELAY,
  STREAM_HIGH_WATER_MARK,
  widenConnectionWindow,
} from '../tuning';
import type { GatewayContext } from './context';
import {
  errorResponse,
  handleAuthz,
  handleHealthz,
  serveTunnel,
  type SimpleResponse,
  type TunnelTarget,
} from './handlers';
import { BadRequestError, IdentityMismatchError } from '../errors';
import { GATEWAY_TLS } from '../tls-settings';
import { applyStreamWindow } from '../h2-window';

export const ALPN_PROTOCOLS = ['h2', 'http/1.1'];

const headerTimers = new WeakMap<object, NodeJS.Timeout>();

function clearHeaderTimer(socket: object): void {
  const t = headerTimers.get(socket);
  if (t) {
    clearTimeout(t);
    headerTimers.delete(socket);
  }
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Writes a complete HTTP/1.1 response on a raw socket and closes it (refusals of CONNECT, client errors). */
function writeRawResponse(socket: Duplex, r: SimpleResponse): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = Buffer.from(r.body);
  let head = `HTTP/1.1 ${r.status} ${STATUS_TEXT[r.status] ?? 'Error'}\r\n`;
  for (const [k, v] of Object.entries(r.headers)) head += `${k}: ${v}\r\n`;
  head += `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  // Do not wait forever for a peer that does not read its refusal.
  setTimeout(() => socket.destroy(), 1000).unref();
}

export interface GatewayServerOptions {
  readonly host?: string;
  readonly port: number;
  /** Offer h2 in ALPN. Off, the port behaves like an upstream gateway (http/1.1 only). @default true */
  readonly offerH2?: boolean;
}

export class GatewayServer {
  private readonly tlsServer: tls.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<tls.TLSSocket>();
  private readonly rawSockets = new Set<Duplex>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Per-stream receive window in effect when it differs from the configured one (buffer pressure). */
  private streamWindow: number | undefined;
  private readonly sessionPeers = new WeakMap<http2.Http2Session, string | undefined>();
  private readonly openStreams = new WeakMap<http2.Http2Session, number>();
  /** When the client certificate a connection was authenticated with expires. */
  private readonly certExpiry = new WeakMap<object, number | undefined>();
  private closing = false;
  /** HTTP/1.1 connections with a request in progress, and those to close once it is answered. */
  private readonly h1Busy = new WeakSet<Duplex>();
  private readonly h1Retired = new WeakSet<Duplex>();
  private hasTls = false;
  /** Grows with every certificate change; connections record the one they were accepted under. */
  private tlsGeneration = 0;
  private readonly acceptedUnder = new WeakMap<object, number>();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly options: GatewayServerOptions,
  ) {
    const limits = ctx.limits;
    this.tlsServer = tls.createServer({
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
    this.tlsServer.maxConnections = limits.maxGatewayConnections;
    this.tlsServer.on('drop', () => ctx.metrics.errors.inc({ code: 'CL_ERR_TOO_MANY_CONNECTIONS' }));
    this.tlsServer.on('secureConnection', (socket) => this.onSecureConnection(socket));
    this.tlsServer.on('connection', (raw: Duplex) => {
      // Tracked from TCP accept, so destroy() also ends connections still in their handshake.
      this.rawSockets.add(raw);
      // HTTP/1.1 tunnels relay on this connection itself (h2 sessions turn Nagle off on their own).
      (raw as Partial<Socket>).setNoDelay?.(NO_DELAY);
      this.acceptedUnder.set(raw, this.tlsGeneration);
      raw.once('close', () => this.rawSockets.delete(raw));
    });
    this.tlsServer.on('tlsClientError', (err, socket) => {
      // With a listener, Node leaves closing the socket to us (handshake timeouts included).
      socket.destroy();
      ctx.metrics.errors.inc({ code: 'CL_ERR_TLS_HANDSHAKE' });
      ctx.logger.debug({ err: err.message }, 'TLS handshake refused');
    });
    this.tlsServer.on('error', (err) => ctx.logger.error({ err: err.message }, 'gateway listener error'));

    this.h1 = http.createServer({ maxHeaderSize: limits.maxHeaderBytes, requestTimeout: 0 });
    this.h1.keepAliveTimeout = limits.keepAliveTimeoutMs;
    this.h1.timeout = limits.keepAliveTimeoutMs;
    this.h1.on('request', (req, res) => this.onHttp1Request(req, res));
    this.h1.on('connect', (req, socket, head) => this.onHttp1Connect(req, socket as tls.TLSSocket, head));
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket) => this.onHttp1ClientError(err, socket));

    this.h2 = http2.createServer({
      ...h2SessionOptions(),
      settings: {
        ...H2_SETTINGS,
        maxConcurrentStreams: limits.h2MaxConcurrentStreams,
        initialWindowSize: limits.h2StreamWindowBytes,
      },
    });
    this.h2.on('session', (session) => this.onSession(session));
    this.h2.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  /**
   * Installs new certificates for new connections. Connections authenticated under the previous
   * ones then serve no new work, so that a remote the new CA no longer trusts (or that no longer
   * trusts us) cannot keep using them: see retireConnections.
   */
  setTls(material: SnapshotTls): void {
    this.tlsServer.setSecureContext({
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      ...GATEWAY_TLS,
    });
    this.tlsGeneration++;
    if (this.hasTls) this.retireConnections();
    this.hasTls = true;
  }

  /**
   * After a certificate change: h2 sessions get GOAWAY (their open streams, i.e. tunnels, continue;
   * the remote opens a new session, handshaking against the new material); idle HTTP/1.1
   * connections (kept-alive heartbeats, /authz) close, busy ones once answered; established
   * HTTP/1.1 CONNECT tunnels continue. Every connection is retired, not only those whose peer the
   * new CA rejects: a re-handshake per remote gateway is cheap and rare, and the handshake itself
   * is then the only place that decides trust. A handshake in progress at the swap completes on the
   * old material: such a connection is closed before it serves anything (onSecureConnection).
   */
  retireConnections(): { sessions: number; connections: number } {
    let sessions = 0;
    let connections = 0;
    for (const session of this.sessions) {
      if (session.closed || session.destroyed) continue;
      session.close();
      sessions++;
    }
    for (const socket of this.sockets) {
      if (socket.destroyed || socket.alpnProtocol === 'h2') continue;
      if ((socket as { clTunnel?: boolean }).clTunnel === true) continue;
      connections++;
      if (this.h1Busy.has(socket)) this.h1Retired.add(socket);
      else socket.end();
    }
    if (sessions + connections > 0) {
      this.ctx.logger.info({ sessions, connections }, 'certificates changed: earlier connections retired');
    }
    return { sessions, connections };
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.tlsServer.once('error', onError);
      this.tlsServer.listen(this.options.port, this.options.host, () => {
        this.tlsServer.off('error', onError);
        resolve(this.tlsServer.address() as AddressInfo);
      });
    });
  }

  get listening(): boolean {
    return this.tlsServer.listening;
  }

  address(): AddressInfo | undefined {
    return (this.tlsServer.address() as AddressInfo | null) ?? undefined;
  }

  /** Stops accepting; h2 sessions get GOAWAY (their streams finish); idle HTTP/1.1 connections close. */
  close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => {
      if (!this.tlsServer.listening) return resolve();
      this.tlsServer.close(() => resolve());
    });
    for (const session of this.sessions) session.close();
    this.h1.closeIdleConnections?.();
    for (const socket of this.sockets) {
      if (
        !socket.destroyed &&
        (socket as { clTunnel?: boolean }).clTunnel !== true &&
        socket.alpnProtocol !== 'h2'
      ) {
        // HTTP/1.1 connection without a tunnel: nothing to drain.
        socket.end();
      }
    }
    return closed;
  }

  /** Destroys every connection (end of the grace period). */
  destroy(): void {
    this.closing = true;
    if (this.tlsServer.listening) this.tlsServer.close();
    for (const session of this.sessions) session.destroy();
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
    const generation = raw ? this.acceptedUnder.get(raw) : undefined;
    if (generation !== undefined && generation !== this.tlsGeneration) {
      this.ctx.logger.debug('connection authenticated under replaced certificates closed');
      socket.destroy();
      return;
    }
    this.ctx.metrics.tlsHandshakes.inc({
      protocol: socket.alpnProtocol || 'none',
      resumed: socket.isSessionReused() ? 'true' : 'false',
    });
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      clearHeaderTimer(socket);
    });

    socket.on('error', () => {
      /* reported by the owner (http server, h2 session or relay) */
    });
    if (socket.alpnProtocol === 'h2') {
      this.h2.emit('connection', socket);
      return;
    }
    // http/1.1 or no ALPN (clients that do not negotiate ALPN speak HTTP/1.1).
    this.armHeaderTimer(socket);
    this.h1.emit('connection', socket);
  }

  // ---- HTTP/1.1 ----

  /**
   * The next request head must arrive within headersTimeoutMs (from the connection, or from the end
   * of the previous response on a kept-alive connection): a client trickling bytes cannot hold it.
   */
  private armHeaderTimer(socket: Duplex): void {
    clearHeaderTimer(socket);
    if (socket.destroyed) return;
    headerTimers.set(
      socket,
      setTimeout(() => {
        headerTimers.delete(socket);
        this.ctx.metrics.errors.inc({ code: 'CL_ERR_HEADERS_TIMEOUT' });
        socket.destroy();
      }, this.ctx.limits.headersTimeoutMs),
    );
  }

  private onHttp1Request(req: http.IncomingMessage, res: http.ServerResponse): void {
    clearHeaderTimer(req.socket);
    this.h1Busy.add(req.socket);
    res.once('finish', () => {
      this.h1Busy.delete(req.socket);
      if (this.h1Retired.has(req.socket)) req.socket.end();
      else this.armHeaderTimer(req.socket);
    });
    const send = (r: SimpleResponse): void => {
      if (res.headersSent) return;
      res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
      res.end(r.body);
    };
    const expired = this.expiredIdentity(req.socket, req.socket as tls.TLSSocket);
    if (expired) {
      req.resume();
      res.setHeader('connection', 'close');
      send(errorResponse(expired));
      return;
    }
    if (req.method === 'GET' && req.url === HEALTHZ_PATH) {
      req.resume();
      send(handleHealthz(this.ctx));
      return;
    }
    if (req.method === 'POST' && req.url === AUTHZ_PATH) {
      const peer = peerNameOfSocket(req.socket as tls.TLSSocket);
      readBody(req, MAX_AUTHZ_BODY_BYTES, this.ctx.limits.bodyTimeoutMs).then(
        (body) => send(handleAuthz(this.ctx, peer, body)),
        (err: BodyError) => {
          this.ctx.metrics.errors.inc({ code: err.clCode });
          send({ status: err.status, headers: { connection: 'close' }, body: err.message + '\n' });
          req.socket.destroySoon?.();
        },
      );
      return;
    }
    req.resume();
    this.ctx.metrics.errors.inc({ code: DataPlaneErrorCode.badRequest });
    send(errorResponse(new BadRequestError(`unsupported request ${req.method} ${req.url}`)));
  }

  private onHttp1Connect(req: http.IncomingMessage, socket: tls.TLSSocket, head: Buffer): void {
    clearHeaderTimer(socket);
    socket.setTimeout(0); // the relay owns idle detection from here
    (socket as { clTunnel?: boolean }).clTunnel = true;
    if (head.length > 0) socket.unshift(head);
    const expired = this.expiredIdentity(socket, socket);
    if (expired) {
      writeRawResponse(socket, errorResponse(expired));
      return;
    }
    const peer = peerNameOfSocket(socket);
    const target: TunnelTarget = { kind: 'token', authorization: req.headers.authorization };
    void serveTunnel(this.ctx, peer, target, {
      stream: socket,
      accept: () => {
        resetTcpOnAbortiveDestroy(socket);
        socket.write('HTTP/1.1 200 OK\r\n\r\n');
      },
      refuse: (r) => writeRawResponse(socket, r),
    });
  }

  private onHttp1ClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    clearHeaderTimer(socket);
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 'CL_ERR_HEADER_TOO_LARGE' : DataPlaneErrorCode.protocol;
    this.ctx.metrics.errors.inc({ code });
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    writeRawResponse(socket, { status, headers: { 'x-cl-error-code': code }, body: '' });
  }

  // ---- HTTP/2 ----

  private onSession(session: http2.ServerHttp2Session): void {
    if (this.closing) {
      session.destroy();
      return;
    }
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    if (this.streamWindow !== undefined) applyStreamWindow(session, this.streamWindow);
    session.on('error', (err) => this.ctx.logger.debug({ err: err.message }, 'h2 session error'));
    this.sessionPeers.set(session, peerNameOfSocket(session.socket as tls.TLSSocket));
    this.certExpiry.set(session, peerCertificateExpiry(session.socket as tls.TLSSocket));
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
   * A connection lives longer than the handshake that checked its client certificate: a pooled h2
   * session or a kept-alive HTTP/1.1 connection would otherwise keep serving a peer whose
   * certificate has since expired. Each new request checks the expiry again.
   */
  private expiredIdentity(connection: object, socket: tls.TLSSocket): IdentityMismatchError | undefined {
    if (!this.certExpiry.has(connection)) this.certExpiry.set(connection, peerCertificateExpiry(socket));
    const expiry = this.certExpiry.get(connection);
    if (expiry === undefined || this.ctx.now() < expiry) return undefined;
    this.ctx.metrics.errors.inc({ code: 'CL_ERR_CERT_EXPIRED' });
    return new IdentityMismatchError('the client certificate of this connection has expired');
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

  /**
   * (Re)starts the idle countdown of a session; called when it starts and when its last stream
   * closes. The 'timeout' listener is added once per session: setTimeout(ms, callback) would add
   * one more listener on every re-arm.
   */
  private armSessionIdleTimer(session: http2.Http2Session): void {
    if (session.destroyed) return;
    if (session.listenerCount('timeout') === 0) {
      session.on('timeout', () => {
        if ((this.openStreams.get(session) ?? 0) > 0) return; // re-armed when the last one closes
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
    this.openStreams.set(session, (this.openStreams.get(session) ?? 0) + 1);
    stream.once('close', () => {
      const left = (this.openStreams.get(session) ?? 1) - 1;
      this.openStreams.set(session, left);
      if (left === 0) this.armSessionIdleTimer(session);
    });
    const peer = this.sessionPeers.get(session);
    const method = headers[':method'];
    const respond = (r: SimpleResponse): void => {
      if (stream.destroyed || stream.headersSent) return;
      stream.respond({ ':status': r.status, ...r.headers }, { endStream: r.body.length === 0 });
      if (r.body.length > 0) stream.end(r.body);
    };
    const expired = this.expiredIdentity(session, session.socket as tls.TLSSocket);
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
      void serveTunnel(this.ctx, peer, target, {
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
        (body) => respond(handleAuthz(this.ctx, peer, body)),
        (err: BodyError) => {
          this.ctx.metrics.errors.inc({ code: err.clCode });
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

/** Why a request body was not read: too large (413) or not complete in time (408). */
class BodyError extends Error {
  constructor(
    readonly status: 400 | 408 | 413,
    readonly clCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/** Reads a request body up to `limit` bytes within `timeoutMs`; rejects beyond either. */
function readBody(
  stream: NodeJS.ReadableStream & { destroy?(): void },
  limit: number,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (err: BodyError): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.pause();
      reject(err);
    };
    const timer = setTimeout(
      () => stop(new BodyError(408, 'CL_ERR_BODY_TIMEOUT', 'request body not complete in time')),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        stop(new BodyError(413, 'CL_ERR_BODY_TOO_LARGE', 'body too large'));
        return;
      }
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    stream.once('error', (err) => {
      clearTimeout(timer);
      reject(new BodyError(400, DataPlaneErrorCode.protocol, (err as Error).message));
    });
    stream.once('close', () => clearTimeout(timer));
  });
}
