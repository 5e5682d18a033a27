/**
 * Client side of the upstream-compatible HTTP/1.1 protocol (DESIGN.md section 5): POST /authz for a
 * token, then CONNECT with `authorization: Bearer <token>` on the same connection when it can be
 * reused (one TLS handshake per tunnel), after which the socket carries the tunnel's raw bytes.
 * Also GET /healthz. Responses come from authenticated peers but are still parsed with bounds.
 */
import type { TLSSocket } from 'node:tls';
import { PEER_LABELS_HEADER } from '../../kernel/api/labels';
import type { Attributes } from '../../kernel/policy/types';
import { DataPlaneError, DataPlaneErrorCode } from '../errors';
import {
  ACCESS_TOKEN_HEADER,
  AUTHZ_PATH,
  decodeAttributesHeader,
  encodeAuthorizationBody,
  ERROR_CODE_HEADER,
  HEALTHZ_PATH,
  remoteRefusalCode,
  SAME_CONNECTION_HEADER,
  type ExportRef,
} from '../protocol';

const MAX_RESPONSE_HEAD = 64 * 1024;
const MAX_RESPONSE_BODY = 64 * 1024;
/** Bytes of a chunked body as sent (framing and trailers included). */
const MAX_CHUNKED_RESPONSE = 2 * MAX_RESPONSE_BODY;

export interface Http1Response {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** False when the server closes the connection after this response (or its length is unknown). */
  readonly reusable: boolean;
}

function protocolError(message: string): DataPlaneError {
  return new DataPlaneError(DataPlaneErrorCode.protocol, message);
}

/**
 * Reads one response from `socket`. With `tunnel`, a 200 has no body and bytes after the head are
 * put back into the socket for the tunnel.
 */
export function readResponse(socket: TLSSocket, timeoutMs: number, tunnel: boolean): Promise<Http1Response> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    let head: { status: number; headers: Record<string, string>; bodyStart: number } | undefined;
    const timer = setTimeout(() => finish(protocolError(`no response within ${timeoutMs} ms`)), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onEnd);
    };
    const finish = (err: Error | undefined, response?: Http1Response, rest?: Buffer): void => {
      cleanup();
      socket.pause();
      if (err) {
        reject(err);
        return;
      }
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(response!);
    };
    const tryComplete = (ended: boolean): void => {
      if (!head) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buffered.length > MAX_RESPONSE_HEAD) finish(protocolError('response head too large'));
          else if (ended) finish(protocolError('connection closed before a response'));
          return;
        }
        const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
        if (!m) {
          finish(protocolError(`bad status line ${JSON.stringify(lines[0].slice(0, 80))}`));
          return;
        }
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        head = { status: Number(m[1]), headers, bodyStart: end + 4 };
      }
      const { status, headers, bodyStart } = head;
      if (tunnel && status === 200) {
        finish(
          undefined,
          { status, headers, body: Buffer.alloc(0), reusable: false },
          buffered.subarray(bodyStart),
        );
        return;
      }
      const closeAfter = (headers.connection ?? '').toLowerCase() === 'close';
      if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
        // Chunk framing and trailers are not counted by decodeChunked's body bound: cap what is
        // buffered, so a peer sending endless trailers or tiny chunks is refused now, not at the timeout.
        if (buffered.length - bodyStart > MAX_CHUNKED_RESPONSE) {
          finish(protocolError('chunked response too large'));
          return;
        }
        const chunked = decodeChunked(buffered, bodyStart);
        if (chunked === 'invalid') finish(protocolError('bad chunked body'));
        else if (chunked)
          finish(
            undefined,
            { status, headers, body: chunked.body, reusable: !closeAfter },
            buffered.subarray(chunked.end),
          );
        else if (ended) finish(protocolError('connection closed inside the response body'));
        return;
      }
      const lengthHeader = headers['content-length'];
      if (lengthHeader !== undefined) {
        const length = Number(lengthHeader);
        if (!Number.isInteger(length) || length < 0 || length > MAX_RESPONSE_BODY) {
          finish(protocolError('bad content-length'));
          return;
        }
        if (buffered.length - bodyStart >= length) {
          const body = buffered.subarray(bodyStart, bodyStart + length);
          finish(
            undefined,
            { status, headers, body, reusable: !closeAfter },
            buffered.subarray(bodyStart + length),
          );
        } else if (ended) {
          finish(protocolError('connection closed inside the response body'));
        }
        return;
      }
      // No length: the body runs to the end of the connection (kept short: we only need the head).
      if (ended || buffered.length - bodyStart > MAX_RESPONSE_BODY) {
        finish(undefined, { status, headers, body: buffered.subarray(bodyStart), reusable: false });
      }
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      tryComplete(false);
    };
    const onEnd = (): void => tryComplete(true);
    const onError = (err: Error): void => finish(err);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}

/**
 * Decodes a complete chunked body starting at `start`; undefined while incomplete. Trailers are
 * skipped. Bounded by MAX_RESPONSE_BODY.
 */
export function decodeChunked(
  data: Buffer,
  start: number,
): { body: Buffer; end: number } | undefined | 'invalid' {
  const parts: Buffer[] = [];
  let size = 0;
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return data.length - at > 1024 ? 'invalid' : undefined;
    const sizeText = data.subarray(at, lineEnd).toString('latin1').split(';')[0].trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return 'invalid';
    const chunkSize = parseInt(sizeText, 16);
    at = lineEnd + 2;
    if (chunkSize === 0) {
      // Trailer section: header lines until an empty line.
      for (;;) {
        const end = data.indexOf('\r\n', at);
        if (end < 0) return undefined;
        if (end === at) return { body: Buffer.concat(parts), end: end + 2 };
        at = end + 2;
      }
    }
    size += chunkSize;
    if (size > MAX_RESPONSE_BODY) return 'invalid';
    if (data.length < at + chunkSize + 2) return undefined;
    parts.push(data.subarray(at, at + chunkSize));
    at += chunkSize + 2;
  }
}

function refusal(response: Http1Response, what: string): DataPlaneError {
  const code = remoteRefusalCode(response.headers[ERROR_CODE_HEADER], response.status);
  const text = response.body.toString('utf8').trim().slice(0, 200);
  return new DataPlaneError(code, `${what} refused with ${response.status}${text ? `: ${text}` : ''}`);
}

function request(socket: TLSSocket, lines: string[], body?: string): void {
  let text = lines.join('\r\n') + '\r\n';
  if (body !== undefined)
    text += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  text += '\r\n';
  socket.write(body !== undefined ? text + body : text);
}

/** POST /authz; resolves the token, or throws a DataPlaneError with the refusal's code. */
export async function requestToken(
  socket: TLSSocket,
  peerName: string,
  ref: ExportRef,
  sourceAttributes: Attributes,
  timeoutMs: number,
): Promise<{ token: string; reusable: boolean }> {
  const body = encodeAuthorizationBody({ ...ref, sourceAttributes });
  request(socket, [`POST ${AUTHZ_PATH} HTTP/1.1`, `Host: ${peerName}`], body);
  const response = await readResponse(socket, timeoutMs, false);
  if (response.status !== 200) throw refusal(response, 'authorization');
  let token = response.headers[ACCESS_TOKEN_HEADER];
  if (!token && response.body.length > 0) {
    // Older upstream releases return {"AccessToken": "..."} in the body.
    try {
      const parsed = JSON.parse(response.body.toString('utf8')) as { AccessToken?: unknown };
      if (typeof parsed.AccessToken === 'string') token = parsed.AccessToken;
    } catch {
      /* handled below */
    }
  }
  if (!token) throw protocolError('authorization response carries no access token');
  // Only a gateway that says so serves CONNECT on the /authz connection (upstream routes by SNI).
  return { token, reusable: response.reusable && response.headers[SAME_CONNECTION_HEADER] === '1' };
}

/** CONNECT with the token; on 200 the socket is the tunnel (any early bytes were put back). */
export async function connectWithToken(
  socket: TLSSocket,
  peerName: string,
  token: string,
  timeoutMs: number,
): Promise<void> {
  request(socket, [
    `CONNECT ${peerName}:443 HTTP/1.1`,
    `Host: ${peerName}:443`,
    `Authorization: Bearer ${token}`,
  ]);
  const response = await readResponse(socket, timeoutMs, true);
  if (response.status !== 200) throw refusal(response, 'tunnel');
}

/** GET /healthz; resolves the remote's peer labels. */
export async function healthz(socket: TLSSocket, peerName: string, timeoutMs: number): Promise<Attributes> {
  request(socket, [`GET ${HEALTHZ_PATH} HTTP/1.1`, `Host: ${peerName}`]);
  const response = await readResponse(socket, timeoutMs, false);
  if (response.status !== 200) throw refusal(response, 'health check');
  return decodeAttributesHeader(response.headers[PEER_LABELS_HEADER.toLowerCase()], PEER_LABELS_HEADER);
}
