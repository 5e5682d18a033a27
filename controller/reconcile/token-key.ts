/**
 * The token key shared by every data-plane replica of this site (they must all verify the tokens
 * any of them issued). It lives in a Secret: the leader creates it once with a random value;
 * every replica reads it. It never changes afterwards, so a poll until found is enough.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../k8s/client';
import type { Secret } from '../k8s/core';
import { isAlreadyExists, isNotFound } from '../k8s/errors';
import { collectionPath, objectPath, Resources } from '../k8s/resources';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../kernel/api/labels';

export const TOKEN_KEY_SECRET = 'cl-token-key';
export const TOKEN_KEY_FIELD = 'tokenKey';

/** The snapshot's tokenKey (base64 of at least 32 bytes) from the Secret, if usable. */
export function tokenKeyFromSecret(secret: Secret | undefined): string | undefined {
  // Secret data is base64 already, and the snapshot carries the key as base64: pass it through.
  const v = secret?.data?.[TOKEN_KEY_FIELD];
  return v && Buffer.from(v, 'base64').length >= 32 ? v : undefined;
}

/** Reads the token key; when absent and `mayCreate`, creates it (losing a creation race is fine). */
export async function loadTokenKey(
  client: KubeClient,
  namespace: string,
  mayCreate: boolean,
): Promise<string | undefined> {
  const path = objectPath(Resources.secret, namespace, TOKEN_KEY_SECRET);
  try {
    const key = tokenKeyFromSecret(await client.get<Secret>(path));
    if (key) return key;
    throw new Error(
      `Secret ${namespace}/${TOKEN_KEY_SECRET} has no usable ${TOKEN_KEY_FIELD} (need 32 bytes)`,
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!mayCreate) return undefined;
  const secret: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: TOKEN_KEY_SECRET, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
    data: { [TOKEN_KEY_FIELD]: randomBytes(32).toString('base64') },
  };
  try {
    return tokenKeyFromSecret(await client.create(collectionPath(Resources.secret, namespace), secret));
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return tokenKeyFromSecret(await client.get<Secret>(path));
  }
}
