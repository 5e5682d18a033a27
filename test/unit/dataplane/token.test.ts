import { createHmac, randomBytes } from 'node:crypto';
import { DataPlaneErrorCode } from '../../../dataplane/errors';
import { decodeTokenKey, issueToken, TOKEN_LIFETIME_MS, verifyToken } from '../../../dataplane/token';

const key = randomBytes(32);
const claims = { exportName: 'svc', exportNamespace: 'default', peer: 'east' };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('access tokens', () => {
  it('verify for the peer they were issued to, before expiry, naming the export', () => {
    const now = 1_000_000;
    const { token, expiresAt } = issueToken(key, claims, now);
    expect(expiresAt).toBe(now + TOKEN_LIFETIME_MS);
    expect(verifyToken(key, token, 'east', now + TOKEN_LIFETIME_MS - 1)).toEqual({
      ...claims,
      expiresAt,
      nonce: expect.any(String),
    });
  });

  it('carry a nonce of their own (what the gateway remembers to accept each once)', () => {
    const nonces = new Set(
      Array.from({ length: 100 }, () => verifyToken(key, issueToken(key, claims).token, 'east').nonce),
    );
    expect(nonces.size).toBe(100);
  });

  it('are refused without a nonce, even when correctly signed', () => {
    const wire = { en: 'svc', ens: 'default', p: 'east', exp: Date.now() + 1000 };
    const signedPart = `v1.${Buffer.from(JSON.stringify(wire)).toString('base64url')}`;
    const signature = createHmac('sha256', key).update(signedPart).digest('base64url');
    expect(codeOf(() => verifyToken(key, `${signedPart}.${signature}`, 'east'))).toBe(
      DataPlaneErrorCode.badToken,
    );
  });

  it('are refused once expired (5 s after issue)', () => {
    const { token } = issueToken(key, claims, 0);
    expect(codeOf(() => verifyToken(key, token, 'east', TOKEN_LIFETIME_MS))).toBe(
      DataPlaneErrorCode.badToken,
    );
  });

  it('are refused when presented by another peer', () => {
    const { token } = issueToken(key, claims);
    expect(codeOf(() => verifyToken(key, token, 'north'))).toBe(DataPlaneErrorCode.badToken);
  });

  it('are refused when signed with another key or altered', () => {
    const { token } = issueToken(randomBytes(32), claims);
    expect(codeOf(() => verifyToken(key, token, 'east'))).toBe(DataPlaneErrorCode.badToken);
    const good = issueToken(key, claims).token;
    const [v, payload, sig] = good.split('.');
    const altered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), en: 'other' }),
    );
    expect(codeOf(() => verifyToken(key, `${v}.${altered.toString('base64url')}.${sig}`, 'east'))).toBe(
      DataPlaneErrorCode.badToken,
    );
  });

  it('refuse garbage without throwing anything but BadToken', () => {
    for (const garbage of ['', 'x', 'v1..', 'v1.e30.', 'v2.a.b', 'a'.repeat(5000), '\u0000.\u0001.\u0002']) {
      expect(codeOf(() => verifyToken(key, garbage, 'east'))).toBe(DataPlaneErrorCode.badToken);
    }
  });

  it('need a key of at least 32 bytes', () => {
    expect(codeOf(() => decodeTokenKey(randomBytes(16).toString('base64')))).toBe(
      DataPlaneErrorCode.badToken,
    );
    expect(decodeTokenKey(key.toString('base64')).equals(key)).toBe(true);
  });
});
