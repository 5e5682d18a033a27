/**
 * Snapshots of the two benchmark sites: site-b exports the services (redis, iperf3), site-a imports
 * them from site-b; one allow-all AccessPolicy on each side (policy cost is measured apart, by
 * bench/policy.ts). Pure.
 */
import { randomBytes } from 'node:crypto';
import { SNAPSHOT_SCHEMA, type GatewaySnapshot } from '../../controller/api/snapshot';
import type { CertificateAndKey } from '../../cli/pki/certificates';
import type { PolicyObject } from '../../controller/policy/types';

export const NAMESPACE = 'bench';
export const SERVICES = ['redis', 'iperf'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface BenchPki {
  readonly ca: CertificateAndKey;
  readonly a: CertificateAndKey;
  readonly b: CertificateAndKey;
}

const ALLOW_ALL: PolicyObject = {
  name: 'allow-all',
  namespace: NAMESPACE,
  spec: { action: 'allow', from: [{ workloadSelector: {} }], to: [{ workloadSelector: {} }] },
};

function base(name: string, cert: CertificateAndKey, ca: CertificateAndKey): GatewaySnapshot {
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
    ...base('site-b', pki.b, pki.ca),
    peers: [{ name: 'site-a', gateways: [{ host: '127.0.0.1', port: 1 }], reachable: true, labels: {} }],
    exports: SERVICES.map((name) => ({
      name,
      namespace: NAMESPACE,
      host: '127.0.0.1',
      port: servicePorts[name],
      labels: {},
    })),
  };
}

/** The importing site: one listener per service (ephemeral port), its source is site-b's export. */
export function importingSite(pki: BenchPki, gatewayB: { host: string; port: number }): GatewaySnapshot {
  return {
    ...base('site-a', pki.a, pki.ca),
    peers: [{ name: 'site-b', gateways: [gatewayB], reachable: true, labels: { site: 'site-b' } }],
    imports: SERVICES.map((name) => ({
      name,
      namespace: NAMESPACE,
      listenHost: '127.0.0.1',
      listenPort: 0,
      lbScheme: 'round-robin' as const,
      sources: [{ peer: 'site-b', exportName: name, exportNamespace: NAMESPACE }],
      labels: {},
    })),
  };
}
