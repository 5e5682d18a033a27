/**
 * Errors the CLI reports to users. Each has a stable `code` (callers and tests branch on it) and a
 * message that names the file, field or flag at fault and what to do about it.
 */
import { ClusterLinkError } from '../kernel/errors';

export type CliErrorCode =
  | 'CL_ERR_USAGE'
  | 'CL_ERR_INVALID_NAME'
  | 'CL_ERR_EXISTS'
  | 'CL_ERR_NOT_FOUND'
  | 'CL_ERR_BAD_CERTIFICATE'
  | 'CL_ERR_CONFIG'
  | 'CL_ERR_UNAVAILABLE'
  | 'CL_ERR_KUBERNETES'
  | 'CL_ERR_DEMO_FAILED';

export class CliError extends ClusterLinkError {
  declare readonly code: CliErrorCode;
  /** Process exit status: 2 for usage errors, 1 otherwise. */
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exitCode = code === 'CL_ERR_USAGE' ? 2 : 1;
  }
}

export function usageError(message: string): CliError {
  return new CliError('CL_ERR_USAGE', message);
}
