/** Reading a bounded request body (POST /authz) on either protocol. */
import { ClusterLinkError, type ErrorCode } from '../../kernel/errors';
import { DataPlaneErrorCode } from '../errors';

/** Why a request body was not read: too large (413) or not complete in time (408). */
export class BodyError extends ClusterLinkError {
  constructor(
    readonly status: 400 | 408 | 413,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

/** Reads a request body up to `limit` bytes within `timeoutMs`; rejects beyond either. */
export function readBody(
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
