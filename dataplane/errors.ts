/**
 * Errors of the data plane. Callers branch on `code` (stable, from kernel/errors.ts), never on
 * messages. Each code maps to the HTTP status the gateway answers with when the error ends a
 * request on the gateway port (the catalogue's `status`).
 */
import { ClusterLinkError, ERROR_CATALOGUE } from '../kernel/errors';

export const DataPlaneErrorCode = {
  policyDenied: 'CL_ERR_POLICY_DENIED',
  peerUnreachable: 'CL_ERR_PEER_UNREACHABLE',
  noSuchExport: 'CL_ERR_NO_SUCH_EXPORT',
  noSuchPeer: 'CL_ERR_NO_SUCH_PEER',
  badToken: 'CL_ERR_BAD_TOKEN',
  identityMismatch: 'CL_ERR_IDENTITY_MISMATCH',
  badRequest: 'CL_ERR_BAD_REQUEST',
  tooManyTunnels: 'CL_ERR_TOO_MANY_TUNNELS',
  exportUnreachable: 'CL_ERR_EXPORT_UNREACHABLE',
  protocol: 'CL_ERR_PROTOCOL',
  invalidSnapshot: 'CL_ERR_INVALID_SNAPSHOT',
  notStarted: 'CL_ERR_NOT_STARTED',
  closed: 'CL_ERR_CLOSED',
  listen: 'CL_ERR_LISTEN',
  noSource: 'CL_ERR_NO_SOURCE',
  internal: 'CL_ERR_INTERNAL',
} as const;

export type DataPlaneErrorCode = (typeof DataPlaneErrorCode)[keyof typeof DataPlaneErrorCode];

export class DataPlaneError extends ClusterLinkError {
  declare readonly code: DataPlaneErrorCode;
  constructor(code: DataPlaneErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export class PolicyDeniedError extends DataPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(DataPlaneErrorCode.policyDenied, message, options);
  }
}

export class PeerUnreachableError extends DataPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(DataPlaneErrorCode.peerUnreachable, message, options);
  }
}

export class NoSuchExportError extends DataPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(DataPlaneErrorCode.noSuchExport, message, options);
  }
}

export class BadTokenError extends DataPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(DataPlaneErrorCode.badToken, message, options);
  }
}

export class IdentityMismatchError extends DataPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(DataPlaneErrorCode.identityMismatch, message, options);
  }
}

export class BadRequestError extends DataPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(DataPlaneErrorCode.badRequest, message, options);
  }
}

export class TooManyTunnelsError extends DataPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(DataPlaneErrorCode.tooManyTunnels, message, options);
  }
}

export class ExportUnreachableError extends DataPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(DataPlaneErrorCode.exportUnreachable, message, options);
  }
}

export class InvalidSnapshotError extends DataPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(DataPlaneErrorCode.invalidSnapshot, message, options);
  }
}

/** HTTP status a gateway answers with for an error that ends a request (DESIGN.md section 5). */
export function httpStatusFor(code: string): number {
  const entry = (ERROR_CATALOGUE as Record<string, { status?: number }>)[code];
  return entry?.status ?? 500;
}

/** Inverse of httpStatusFor, for a client that only sees a status (e.g. an upstream gateway). */
export function codeForHttpStatus(status: number): DataPlaneErrorCode {
  switch (status) {
    case 400:
      return DataPlaneErrorCode.badRequest;
    case 401:
      return DataPlaneErrorCode.badToken;
    case 403:
      return DataPlaneErrorCode.policyDenied;
    case 404:
      return DataPlaneErrorCode.noSuchExport;
    case 429:
      return DataPlaneErrorCode.tooManyTunnels;
    case 502:
      return DataPlaneErrorCode.exportUnreachable;
    default:
      return DataPlaneErrorCode.peerUnreachable;
  }
}

/** The stable code of any thrown value (unknown errors count as internal). */
export function errorCode(err: unknown): string {
  if (err instanceof ClusterLinkError) return err.code;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : DataPlaneErrorCode.internal;
}
