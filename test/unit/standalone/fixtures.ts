/** Helpers for standalone gateway tests: a fabric on disk, config directories, an echo backend. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import {
  createCertificateAuthority,
  createPeerCertificate,
  type CertificateAndKey,
} from '../../../cli/pki/certificates';

export interface SiteDir {
  readonly name: string;
  readonly dir: string;
  /** Writes (atomically, like an editor) one file of the configuration directory. */
  write(file: string, text: string): void;
}

export async function makeFabric(
  names: readonly string[],
): Promise<{ root: string; sites: SiteDir[]; ca: CertificateAndKey; cleanup(): void }> {
  const root = mkdtempSync(path.join(tmpdir(), 'cl-site-'));
  const ca = await createCertificateAuthority({ commonName: 'test-fabric' });
  const sites: SiteDir[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    mkdirSync(dir);
    const pair = await createPeerCertificate(ca, name);
    writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    writeFileSync(path.join(dir, 'cert.pem'), pair.cert);
    writeFileSync(path.join(dir, 'key.pem'), pair.key, { mode: 0o600 });
    sites.push({
      name,
      dir,
      write: (file, text) => {
        const tmp = path.join(dir, `.${file}.tmp`);
        writeFileSync(tmp, text);
        renameSync(tmp, path.join(dir, file));
      },
    });
  }
  return { root, sites, ca, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function peerYaml(name: string, host: string, port: number): string {
  return `apiVersion: clusterlink.net/v1alpha1\nkind: Peer\nmetadata: { name: ${name} }\nspec: { gateways: [{ host: "${host}", port: ${port} }] }\n`;
}

export function exportYaml(name: string, host: string, port: number): string {
  return `apiVersion: clusterlink.net/v1alpha1\nkind: Export\nmetadata: { name: ${name}, namespace: default }\nspec: { host: "${host}", port: ${port} }\n`;
}

export function importYaml(
  name: string,
  port: number,
  sources: readonly { peer: string; exportName: string }[],
  lbScheme = 'round-robin',
): string {
  const list = sources
    .map((s) => `    - { peer: ${s.peer}, exportName: ${s.exportName}, exportNamespace: default }`)
    .join('\n');
  return `apiVersion: clusterlink.net/v1alpha1\nkind: Import\nmetadata: { name: ${name}, namespace: default }\nspec:\n  port: ${port}\n  lbScheme: ${lbScheme}\n  sources:\n${list}\n`;
}

export function policyYaml(name: string, action: 'allow' | 'deny', fromPeer?: string): string {
  const from = fromPeer
    ? `{ workloadSelector: { matchLabels: { peer.clusterlink.net/name: ${fromPeer} } } }`
    : '{ workloadSelector: {} }';
  return `apiVersion: clusterlink.net/v1alpha1\nkind: AccessPolicy\nmetadata: { name: ${name}, namespace: default }\nspec: { action: ${action}, from: [${from}], to: [{ workloadSelector: {} }] }\n`;
}

/** An HTTP server answering every request with `site`. */
export async function echoServer(
  site: string,
  host = '127.0.0.1',
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.end(site));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** GET / through host:port; resolves with the body or rejects with the socket error. */
export function get(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** Polls `probe` until it returns a value other than undefined (event-less conditions only). */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
