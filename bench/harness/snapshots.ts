/**
 * Snapshots of the two benchmark sites: site-b exports the services (redis, iperf3), site-a imports
 * them from site-b; one allow-all AccessPolicy on each side (policy cost is measured apart, by
 * bench/policy.ts). Pure.
 */
import { randomBytes } from 'node:crypto';
import { SNAPSHOT_SCHEMA, type GatewaySnapshot } from '../../kernel/api/snapshot';
import type { CertificateAndKey } from '../../cli/pki/certificates';
import type { PolicyObject } from '../../kernel/policy/types';

export const NAMESPACE = 'bench';
export const SERVICES = ['redis', 'iperf'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface BenchPki {
  readonly ca: CertificateAndKey;
  readonly a: CertificateAndKey;
  readonly b: CertificateAndKey;
  /** Peer names (first DNS SAN of a and b). @default site-a, site-b */
  readonly names?: { readonly a: string; readonly b: string };
}

function names(pki: BenchPki): { a: string; b: string } {
  return pki.names ?? { a: 'site-a', b: 'site-b' };
}

const ALLOW_ALL: PolicyObject = {
  name: 'allow-all',
  namespace: NAMESPACE,
  spec: { action: 'allow', from: [{ workloadSelector: {} }], to: [{ workloadSelector: {} }] },
};

function base(name: string, cert: CertificateAndKey, ca: CertificateAndKey): GatewaySnapshot {
  // tokenKey: each site signs its own tokens; the h2 fast path needs none, HTTP/1.1 tunnels do.
  return {
    schema: SNAPSHOT_SCHEMA,
    version: 1,
    localPeer: { name, labels: { site: name } },
    tls: { ca: ca.cert, cert: cert.cert, key: cert.key },
    tokenKey: randomBytes(32).toString('base64'),
    peers: [],
    exports: [],
    imports: [],
    policies: [ALLOW_ALL],
    clients: [],
  };
}

/** The exporting site: its exports point at the local services. */
export function exportingSite(pki: BenchPki, servicePorts: Record<ServiceName, number>): GatewaySnapshot {
  return {
    ...base(names(pki).b, pki.b, pki.ca),
    peers: [{ name: names(pki).a, gateways: [{ host: '127.0.0.1', port: 1 }], reachable: true, labels: {} }],
    exports: SERVICES.map((name) => ({
      name,
      namespace: NAMESPACE,
      host: '127.0.0.1',
      port: servicePorts[name],
      labels: {},
    })),
  };
}

/** The importing site: one listener per service (ephemeral ports unless given), sources = site-b's exports. */
export function importingSite(
  pki: BenchPki,
  gatewayB: { host: string; port: number },
  listenPorts: Partial<Record<ServiceName, number>> = {},
): GatewaySnapshot {
  const peer = names(pki).b;
  return {
    ...base(names(pki).a, pki.a, pki.ca),
    peers: [{ name: peer, gateways: [gatewayB], reachable: true, labels: { site: peer } }],
    imports: SERVICES.map((name) => ({
      name,
      namespace: NAMESPACE,
      listenHost: '127.0.0.1',
      listenPort: listenPorts[name] ?? 0,
      lbScheme: 'round-robin' as const,
      sources: [{ peer, exportName: name, exportNamespace: NAMESPACE }],
      labels: {},
    })),
  };
}
