/**
 * Fast path, client side: one CONNECT stream on a pooled session both carries the source attributes
 * for the remote's ingress decision and, on 200, is the tunnel. One round trip, no handshake; the
 * client's first bytes travel with the request (see egress/early-bytes.ts).
 */
import * as http2 from 'node:http2';
import type { Writable } from 'node:stream';
import type { Attributes } from '../../kernel/policy/types';
import { DataPlaneError, DataPlaneErrorCode } from '../errors';
import {
  encodeAttributesHeader,
  ERROR_CODE_HEADER,
  EXPORT_NAME_HEADER,
  EXPORT_NAMESPACE_HEADER,
  SOURCE_ATTRIBUTES_HEADER,
  remoteRefusalCode,
  type ExportRef,
} from '../protocol';

/**
 * Takes the request stream while the tunnel is being opened, to send the client's first bytes on it
 * (implemented by egress/early-bytes.ts).
 */
export interface EarlyBytesSink {
  /** Sends every byte kept so far to `stream`, then each byte as it arrives, until detached. */
  attach(stream: Writable): void;
  /** The request failed or was refused: `stream` gets nothing more. */
  detach(stream: Writable): void;
}

export function openFastPathStream(
  session: http2.ClientHttp2Session,
  ref: ExportRef,
  sourceAttributes: Attributes,
  timeoutMs: number,
  early?: EarlyBytesSink,
): Promise<http2.ClientHttp2Stream> {
  return new Promise((resolve, reject) => {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(
        {
          ':method': 'CONNECT',
          ':authority': `${ref.name}.${ref.namespace}`,
          [EXPORT_NAME_HEADER]: ref.name,
          [EXPORT_NAMESPACE_HEADER]: ref.namespace,
          [SOURCE_ATTRIBUTES_HEADER]: encodeAttributesHeader(sourceAttributes),
        },
        { endStream: false },
      );
    } catch (err) {
      reject(
        new DataPlaneError(
          DataPlaneErrorCode.peerUnreachable,
          `h2 request failed: ${(err as Error).message}`,
          { cause: err },
        ),
      );
      return;
    }
    // The client's first bytes follow the HEADERS at once: the remote relays them to the export as
    // soon as it has accepted, without waiting for our next turn after its answer.
    early?.attach(stream);
    let settled = false;
    const fail = (err: DataPlaneError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      early?.detach(stream);
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(err);
    };
    const timer = setTimeout(
      () =>
        fail(
          new DataPlaneError(
            DataPlaneErrorCode.peerUnreachable,
            `no answer to the tunnel request within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    stream.once('response', (headers) => {
      const status = Number(headers[':status']);
      if (status === 200) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // The listeners stay: once settled they do nothing, and an 'error' before the relay takes
        // the stream over must not go unhandled.
        resolve(stream);
        return;
      }
      const code = remoteRefusalCode(headers[ERROR_CODE_HEADER], status);
      stream.resume();
      fail(new DataPlaneError(code, `tunnel refused by the remote gateway with ${status} (${code})`));
    });
    // Checked before building an error: these listeners stay for the tunnel's whole life and fire at
    // its end, when there is nothing left to reject.
    const onError = (err: Error): void => {
      if (settled) return;
      fail(
        new DataPlaneError(DataPlaneErrorCode.peerUnreachable, `tunnel stream failed: ${err.message}`, {
          cause: err,
        }),
      );
    };
    const onClose = (): void => {
      if (settled) return;
      fail(new DataPlaneError(DataPlaneErrorCode.peerUnreachable, 'tunnel stream closed before an answer'));
    };
    stream.on('error', onError);
    stream.once('close', onClose);
  });
}
