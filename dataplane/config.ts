/**
 * The compiled form of a GatewaySnapshot: lookup maps and the policy engine built once per snapshot,
 * so deciding a connection is map lookups and one policy evaluation. Pure: no I/O.
 */
import {
  SNAPSHOT_SCHEMA,
  type GatewaySnapshot,
  type SnapshotClient,
  type SnapshotExport,
  type SnapshotImport,
  type SnapshotPeer,
} from '../kernel/api/snapshot';
import { PolicyEngine } from '../kernel/policy/engine';
import { InvalidSnapshotError } from './errors';
import { peerNameOfPem } from '../kernel/identity';
import { decodeTokenKey } from './token';

export interface CompiledConfig {
  readonly snapshot: GatewaySnapshot;
  readonly version: number;
  readonly localPeer: string;
  readonly tokenKey: Buffer;
  readonly exports: ReadonlyMap<string, SnapshotExport>;
  readonly peers: ReadonlyMap<string, SnapshotPeer>;
  readonly imports: ReadonlyMap<string, SnapshotImport>;
  readonly clientsByIp: ReadonlyMap<string, SnapshotClient>;
  readonly policy: PolicyEngine;
}

export function namespacedKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535;
}

/** Checks what the data plane relies on; a bad snapshot is refused whole (the last good one stays). */
export function validateSnapshot(s: GatewaySnapshot): void {
  const fail = (msg: string): never => {
    throw new InvalidSnapshotError(`snapshot refused: ${msg}`);
  };
  if (typeof s !== 'object' || s === null) fail('not an object');
  if (s.schema !== SNAPSHOT_SCHEMA) fail(`schema ${String(s.schema)} (expected ${SNAPSHOT_SCHEMA})`);
  if (typeof s.version !== 'number' || !Number.isFinite(s.version)) fail('version must be a number');
  if (!s.localPeer || typeof s.localPeer.name !== 'string' || !s.localPeer.name)
    fail('localPeer.name missing');
  if (
    !s.tls ||
    typeof s.tls.ca !== 'string' ||
    typeof s.tls.cert !== 'string' ||
    typeof s.tls.key !== 'string'
  ) {
    fail('tls.ca, tls.cert and tls.key must be PEM strings');
  }
  const certName = peerNameOfPem(s.tls.cert);
  if (certName !== s.localPeer.name) {
    fail(
      `the certificate's first DNS SAN (${String(certName)}) is not the local peer name ${s.localPeer.name}`,
    );
  }
  try {
    decodeTokenKey(s.tokenKey);
  } catch {
    fail('tokenKey must be base64 of at least 32 bytes');
  }
  for (const field of ['peers', 'exports', 'imports', 'policies', 'clients'] as const) {
    if (!Array.isArray(s[field])) fail(`${field} must be an array`);
  }
  for (const p of s.peers) {
    if (!p.name || !Array.isArray(p.gateways)) fail(`peer ${String(p.name)} malformed`);
    for (const g of p.gateways)
      if (!g.host || !isPort(g.port) || g.port === 0) fail(`peer ${p.name} gateway malformed`);
  }
  for (const e of s.exports) {
    if (!e.name || !e.namespace || !e.host || !isPort(e.port) || e.port === 0)
      fail(`export ${e.namespace}/${e.name} malformed`);
  }
  const ports = new Map<string, string>();
  for (const i of s.imports) {
    if (!i.name || !i.namespace || !isPort(i.listenPort) || !Array.isArray(i.sources)) {
      fail(`import ${i.namespace}/${i.name} malformed`);
    }
    const where = `${i.listenHost}:${i.listenPort}`;
    if (i.listenPort !== 0 && ports.has(where))
      fail(`imports ${ports.get(where)} and ${i.namespace}/${i.name} share ${where}`);
    ports.set(where, `${i.namespace}/${i.name}`);
  }
}

export function compileSnapshot(s: GatewaySnapshot): CompiledConfig {
  validateSnapshot(s);
  return {
    snapshot: s,
    version: s.version,
    localPeer: s.localPeer.name,
    tokenKey: decodeTokenKey(s.tokenKey),
    exports: new Map(s.exports.map((e) => [namespacedKey(e.namespace, e.name), e])),
    peers: new Map(s.peers.map((p) => [p.name, p])),
    imports: new Map(s.imports.map((i) => [namespacedKey(i.namespace, i.name), i])),
    clientsByIp: new Map(s.clients.map((c) => [c.ip, c])),
    policy: new PolicyEngine(s.policies),
  };
}

/** True when the certificates changed: new TLS contexts are needed for new connections. */
export function tlsChanged(a: GatewaySnapshot | undefined, b: GatewaySnapshot): boolean {
  return !a || a.tls.ca !== b.tls.ca || a.tls.cert !== b.tls.cert || a.tls.key !== b.tls.key;
}
