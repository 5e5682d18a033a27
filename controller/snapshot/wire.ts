/** The snapshot channel's wire format: path, and validation of what arrives (pure). */
import { SNAPSHOT_SCHEMA, type GatewaySnapshot } from '../api/snapshot';

export const SNAPSHOT_PATH = '/v1/snapshot';
/** How long the server holds a long-poll before answering 204 (no change). */
export const LONG_POLL_MS = 25_000;

export class SnapshotFormatError extends Error {
  readonly code = 'CL_ERR_SNAPSHOT_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotFormatError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the structure of a received snapshot; the data plane trusts the rest (same-identity, mTLS). */
export function parseSnapshot(text: string): GatewaySnapshot {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new SnapshotFormatError(`snapshot is not JSON: ${(err as Error).message}`);
  }
  if (!isObj(v)) throw new SnapshotFormatError('snapshot is not an object');
  if (v.schema !== SNAPSHOT_SCHEMA)
    throw new SnapshotFormatError(`unsupported snapshot schema ${String(v.schema)}`);
  if (typeof v.version !== 'number' || !Number.isSafeInteger(v.version) || v.version < 1) {
    throw new SnapshotFormatError('snapshot version must be a positive integer');
  }
  for (const field of ['peers', 'exports', 'imports', 'policies', 'clients'] as const) {
    if (!Array.isArray(v[field])) throw new SnapshotFormatError(`snapshot.${field} must be an array`);
  }
  if (!isObj(v.localPeer) || typeof v.localPeer.name !== 'string') {
    throw new SnapshotFormatError('snapshot.localPeer.name must be a string');
  }
  if (
    !isObj(v.tls) ||
    typeof v.tls.ca !== 'string' ||
    typeof v.tls.cert !== 'string' ||
    typeof v.tls.key !== 'string'
  ) {
    throw new SnapshotFormatError('snapshot.tls must carry ca, cert and key');
  }
  if (typeof v.tokenKey !== 'string') throw new SnapshotFormatError('snapshot.tokenKey must be a string');
  return v as unknown as GatewaySnapshot;
}
