/** The snapshot channel's wire format: path, and validation of what arrives (pure). */
import { ClusterLinkError } from '../../kernel/errors';
import { SNAPSHOT_SCHEMA, type GatewaySnapshot, type SnapshotStamp } from '../../kernel/api/snapshot';

export const SNAPSHOT_PATH = '/v1/snapshot';
/** How long the server holds a long-poll before answering 204 (no change). */
export const LONG_POLL_MS = 25_000;

/**
 * What a snapshot's `origin` may be: a short token of URL-safe characters (publishers use 16
 * random bytes in base64url, 22 characters). Bounded so a malformed snapshot cannot carry an
 * arbitrary string into logs and long-poll queries.
 */
export const SNAPSHOT_ORIGIN = /^[A-Za-z0-9_-]{1,64}$/;

export class SnapshotFormatError extends ClusterLinkError {
  constructor(message: string) {
    super('CL_ERR_SNAPSHOT_FORMAT', message);
  }
}

/**
 * The long-poll query naming the snapshot a client holds. The origin goes with the version: a
 * client that moved to another control-plane instance must get its snapshot even when the two
 * versions happen to be equal.
 */
export function snapshotQuery(held: SnapshotStamp | undefined): string {
  if (!held) return 'after=0';
  return `after=${held.version}&origin=${encodeURIComponent(held.origin ?? '')}`;
}

/**
 * Whether the server's `current` snapshot is not the one the query says the client holds (the
 * server then answers at once). A query without `origin` (an older client) compares versions only,
 * or such a client would be answered at once, again and again, with a snapshot it already has.
 */
export function clientLacks(current: SnapshotStamp, query: URLSearchParams): boolean {
  const origin = query.get('origin');
  if (current.version !== Number(query.get('after') ?? '0')) return true;
  return origin !== null && origin !== (current.origin ?? '');
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
  // Optional: a source without one (an older control plane) counts as one origin of its own.
  if (v.origin !== undefined && (typeof v.origin !== 'string' || !SNAPSHOT_ORIGIN.test(v.origin))) {
    throw new SnapshotFormatError('snapshot origin must be 1 to 64 characters of A-Z, a-z, 0-9, "_" or "-"');
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
