/**
 * Errors of the data plane. Callers branch on `code` (stable), never on messages. Each code maps to
 * the HTTP status the gateway answers with when the error ends a request on the gateway port.
 */
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

export class DataPlaneError extends Error {
  readonly code: DataPlaneErrorCode;
  constructor(code: DataPlaneErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
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
  switch (code) {
    case DataPlaneErrorCode.badRequest:
    case DataPlaneErrorCode.protocol:
      return 400;
    case DataPlaneErrorCode.badToken:
      return 401;
    case DataPlaneErrorCode.policyDenied:
    case DataPlaneErrorCode.identityMismatch:
      return 403;
    case DataPlaneErrorCode.noSuchExport:
      return 404;
    case DataPlaneErrorCode.tooManyTunnels:
      return 429;
    case DataPlaneErrorCode.exportUnreachable:
      return 502;
    case DataPlaneErrorCode.closed:
      return 503;
    default:
      return 500;
  }
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
  if (err instanceof DataPlaneError) return err.code;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : DataPlaneErrorCode.internal;
}
