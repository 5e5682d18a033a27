/** The demo's three site directories: certificates and ClusterLink YAML, as a user would write them. */
import { mkdirSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { createCertificateAuthority, createPeerCertificate } from '../pki/certificates';

export interface DemoSite {
  readonly name: string;
  readonly host: string;
  readonly dir: string;
  readonly gatewayPort: number;
  readonly adminPort: number;
}

export async function writeCertificates(root: string, sites: readonly DemoSite[]): Promise<void> {
  const ca = await createCertificateAuthority({ commonName: 'demo-fabric' });
  for (const site of sites) {
    mkdirSync(site.dir, { recursive: true });
    const pair = await createPeerCertificate(ca, site.name);
    writeFileSync(path.join(site.dir, 'ca.pem'), ca.cert);
    writeFileSync(path.join(site.dir, 'cert.pem'), pair.cert);
    writeFileSync(path.join(site.dir, 'key.pem'), pair.key, { mode: 0o600 });
  }
  writeFileSync(
    path.join(root, 'README'),
    'Configuration directories of the clusterlink demo (one per site).\n',
  );
}

/** Writes a file atomically, as an editor would, so the watching gateway never reads half of it. */
export function writeConfig(site: DemoSite, file: string, text: string): void {
  const tmp = path.join(site.dir, `.${file}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path.join(site.dir, file));
}

export function removeConfig(site: DemoSite, file: string): void {
  rmSync(path.join(site.dir, file), { force: true });
}

export function peerYaml(site: DemoSite): string {
  return `apiVersion: clusterlink.net/v1alpha1
kind: Peer
metadata:
  name: ${site.name}
spec:
  gateways:
    - host: ${site.host}
      port: ${site.gatewayPort}
`;
}

export function exportYaml(name: string, host: string, port: number): string {
  return `apiVersion: clusterlink.net/v1alpha1
kind: Export
metadata:
  name: ${name}
  namespace: default
spec:
  host: ${host}
  port: ${port}
`;
}

export function importYaml(name: string, port: number, peers: readonly string[]): string {
  return `apiVersion: clusterlink.net/v1alpha1
kind: Import
metadata:
  name: ${name}
  namespace: default
spec:
  port: ${port}
  lbScheme: round-robin
  sources:
${peers.map((p) => `    - peer: ${p}\n      exportName: ${name}\n      exportNamespace: default\n`).join('')}`;
}

export const ALLOW_ALL = `apiVersion: clusterlink.net/v1alpha1
kind: AccessPolicy
metadata:
  name: allow-all
  namespace: default
spec:
  action: allow
  from:
    - workloadSelector: {}
  to:
    - workloadSelector: {}
`;

export function denyToPeerYaml(policyName: string, peer: string): string {
  return `apiVersion: clusterlink.net/v1alpha1
kind: AccessPolicy
metadata:
  name: ${policyName}
  namespace: default
spec:
  action: deny
  from:
    - workloadSelector: {}
  to:
    - workloadSelector:
        matchLabels:
          peer.clusterlink.net/name: ${peer}
`;
}
