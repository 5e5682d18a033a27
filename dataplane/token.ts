/**
 * Access tokens for the compatible protocol (POST /authz, then CONNECT with `Bearer <token>`).
 * A token is issued and checked by the exporting site only, so its format is ours: it is opaque to
 * the importer. Signed with HMAC-SHA256 under the site's token key, so any replica of the site can
 * check a token another replica issued. It names the export and the peer it was issued to, and
 * expires TOKEN_LIFETIME_MS after issue. Verification here is stateless; the gateway additionally
 * accepts each token once (token-replay.ts).
 *
 *   v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, "v1." + claims))>
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BadTokenError } from './errors';

export const TOKEN_LIFETIME_MS = 5_000;
const VERSION = 'v1';
/** Longer tokens are refused before any parsing (bounded work for untrusted input). */
const MAX_TOKEN_LENGTH = 2048;

export interface TokenClaims {
  /** Export name and namespace. */
  readonly exportName: string;
  readonly exportNamespace: string;
  /** The peer the token was issued to (first DNS SAN of its client certificate). */
  readonly peer: string;
  /** Expiry, milliseconds since the epoch. */
  readonly expiresAt: number;
  /** Random per token: what the gateway remembers to accept each token once (token-replay.ts). */
  readonly nonce: string;
}

interface WireClaims {
  en: string;
  ens: string;
  p: string;
  exp: number;
  n: string;
}

function sign(key: Buffer, signedPart: string): Buffer {
  return createHmac('sha256', key).update(signedPart).digest();
}

export function decodeTokenKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length < 32) throw new BadTokenError('token key must be at least 32 bytes');
  return key;
}

export function issueToken(
  key: Buffer,
  claims: Omit<TokenClaims, 'expiresAt' | 'nonce'>,
  now: number = Date.now(),
): { token: string; expiresAt: number } {
  const expiresAt = now + TOKEN_LIFETIME_MS;
  const wire: WireClaims = {
    en: claims.exportName,
    ens: claims.exportNamespace,
    p: claims.peer,
    exp: expiresAt,
    n: randomBytes(8).toString('base64url'),
  };
  const signedPart = `${VERSION}.${Buffer.from(JSON.stringify(wire)).toString('base64url')}`;
  return { token: `${signedPart}.${sign(key, signedPart).toString('base64url')}`, expiresAt };
}

/**
 * Checks signature, expiry and the presenting peer; returns the claims (the export to connect to).
 * Throws BadTokenError (forged, malformed, expired) or IdentityMismatch-like BadTokenError when
 * presented by another peer than the one it was issued to.
 */
export function verifyToken(
  key: Buffer,
  token: string,
  presentingPeer: string,
  now: number = Date.now(),
): TokenClaims {
  if (token.length > MAX_TOKEN_LENGTH) throw new BadTokenError('token too long');
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) throw new BadTokenError('malformed token');
  const signedPart = `${parts[0]}.${parts[1]}`;
  const given = Buffer.from(parts[2], 'base64url');
  const expected = sign(key, signedPart);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new BadTokenError('token signature invalid');
  }
  let wire: Partial<WireClaims>;
  try {
    wire = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Partial<WireClaims>;
  } catch (err) {
    throw new BadTokenError('token claims unreadable', { cause: err });
  }
  if (
    typeof wire.en !== 'string' ||
    typeof wire.ens !== 'string' ||
    typeof wire.p !== 'string' ||
    typeof wire.exp !== 'number' ||
    typeof wire.n !== 'string'
  ) {
    throw new BadTokenError('token claims incomplete');
  }
  if (now >= wire.exp) throw new BadTokenError('token expired');
  if (wire.p !== presentingPeer) throw new BadTokenError('token was issued to another peer');
  return {
    exportName: wire.en,
    exportNamespace: wire.ens,
    peer: wire.p,
    expiresAt: wire.exp,
    nonce: wire.n,
  };
}
