/** Errors of the Kubernetes client layer; callers branch on `code` and `statusCode`, never on messages. */
import { ClusterLinkError } from '../../kernel/errors';

export const KubeErrorCode = {
  api: 'CL_ERR_KUBE_API',
  transport: 'CL_ERR_KUBE_TRANSPORT',
  gone: 'CL_ERR_KUBE_GONE',
  config: 'CL_ERR_KUBE_CONFIG',
} as const;

/** A non-2xx answer from the API server (the body is the Kubernetes `Status`, when it sent one). */
export class KubeApiError extends ClusterLinkError {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(
      statusCode === 410 ? KubeErrorCode.gone : KubeErrorCode.api,
      `${method} ${path}: ${statusCode} ${reason}: ${message}`,
    );
  }
}

/** The API server could not be reached or the connection broke mid-request. */
export class KubeTransportError extends ClusterLinkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(KubeErrorCode.transport, message, options);
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409 && err.reason === 'AlreadyExists';
}

export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 410;
}
