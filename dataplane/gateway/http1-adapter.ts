/**
 * The upstream-compatible HTTP/1.1 protocol on the gateway port: GET /healthz, POST /authz and
 * CONNECT with a token, on connections the TLS listener hands over (ALPN http/1.1 or none).
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type * as tls from 'node:tls';
import { BadRequestError, DataPlaneErrorCode } from '../errors';
import { AUTHZ_PATH, HEALTHZ_PATH, MAX_AUTHZ_BODY_BYTES } from '../protocol';
import { resetTcpOnAbortiveDestroy } from '../tls-reset';
import { connectionOf, expiredIdentity, type GatewayConnection } from './connection';
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

/** An HTTP/1.1 connection that serves no tunnel: one that may be closed when idle. */
function isPlainHttp1(socket: tls.TLSSocket): boolean {
  return !socket.destroyed && socket.alpnProtocol !== 'h2' && !connectionOf(socket).tunnel;
}

export class Http1Adapter {
  private readonly server: http.Server;

  constructor(private readonly ctx: GatewayContext) {
    const limits = ctx.limits;
    this.server = http.createServer({ maxHeaderSize: limits.maxHeaderBytes, requestTimeout: 0 });
    this.server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    this.server.timeout = limits.keepAliveTimeoutMs;
    this.server.on('request', (req, res) => this.onRequest(req, res));
    this.server.on('connect', (req, socket, head) => this.onConnect(req, socket as tls.TLSSocket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => this.onClientError(err, socket));
  }

  accept(socket: tls.TLSSocket, connection: GatewayConnection): void {
    this.armHeaderTimer(socket, connection);
    this.server.emit('connection', socket);
  }

  /**
   * After a certificate change: idle connections close, busy ones once answered; established
   * CONNECT tunnels continue. Returns how many connections were retired.
   */
  retire(sockets: Iterable<tls.TLSSocket>): number {
    let retired = 0;
    for (const socket of sockets) {
      if (!isPlainHttp1(socket)) continue;
      retired++;
      const connection = connectionOf(socket);
      if (connection.busy) connection.retired = true;
      else socket.end();
    }
    return retired;
  }

  /** Closes the connections without a tunnel: nothing to drain on them. */
  close(sockets: Iterable<tls.TLSSocket>): void {
    this.server.closeIdleConnections?.();
    for (const socket of sockets) if (isPlainHttp1(socket)) socket.end();
  }

  /**
   * The next request head must arrive within headersTimeoutMs (from the connection, or from the end
   * of the previous response on a kept-alive connection): a client trickling bytes cannot hold it.
   */
  private armHeaderTimer(socket: Duplex, connection: GatewayConnection): void {
    connection.clearHeaderTimer();
    if (socket.destroyed) return;
    connection.armHeaderTimer(this.ctx.limits.headersTimeoutMs, () => {
      this.ctx.metrics.errors.inc({ code: 'CL_ERR_HEADERS_TIMEOUT' });
      socket.destroy();
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const connection = connectionOf(req.socket);
    connection.clearHeaderTimer();
    connection.busy = true;
    res.once('finish', () => {
      connection.busy = false;
      if (connection.retired) req.socket.end();
      else this.armHeaderTimer(req.socket, connection);
    });
    const send = (r: SimpleResponse): void => {
      if (res.headersSent) return;
      res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
      res.end(r.body);
    };
    const expired = expiredIdentity(this.ctx, connection);
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
      readBody(req, MAX_AUTHZ_BODY_BYTES, this.ctx.limits.bodyTimeoutMs).then(
        (body) => send(handleAuthz(this.ctx, connection.peer, body)),
        (err: BodyError) => {
          this.ctx.metrics.errors.inc({ code: err.code });
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

  private onConnect(req: http.IncomingMessage, socket: tls.TLSSocket, head: Buffer): void {
    const connection = connectionOf(socket);
    connection.clearHeaderTimer();
    socket.setTimeout(0); // the relay owns idle detection from here
    connection.tunnel = true;
    if (head.length > 0) socket.unshift(head);
    const expired = expiredIdentity(this.ctx, connection);
    if (expired) {
      writeRawResponse(socket, errorResponse(expired));
      return;
    }
    const target: TunnelTarget = { kind: 'token', authorization: req.headers.authorization };
    void serveTunnel(this.ctx, connection.peer, target, {
      stream: socket,
      accept: () => {
        resetTcpOnAbortiveDestroy(socket);
        socket.write('HTTP/1.1 200 OK\r\n\r\n');
      },
      refuse: (r) => writeRawResponse(socket, r),
    });
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    connectionOf(socket).clearHeaderTimer();
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
}
