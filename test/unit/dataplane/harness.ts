/**
 * Test fixtures for the data plane: a fabric CA with peer certificates, snapshots, backend services
 * (echo, checksum), and helpers that wait for events instead of sleeping.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as http2 from 'node:http2';
import { once } from 'node:events';
import {
  createCertificateAuthority,
  createPeerCertificate,
  type CertificateAndKey,
} from '../../../cli/pki/certificates';
import type {
  GatewaySnapshot,
  Labels,
  LbScheme,
  SnapshotClient,
  SnapshotExport,
  SnapshotImport,
  SnapshotPeer,
} from '../../../kernel/api/snapshot';
import type { PolicyObject } from '../../../kernel/policy/types';
import { DataPlane, type DataPlaneOptions } from '../../../dataplane';

export interface Pki {
  readonly ca: CertificateAndKey;
  readonly certs: Record<string, CertificateAndKey>;
}

export async function makePki(names: readonly string[]): Promise<Pki> {
  const ca = await createCertificateAuthority({ commonName: 'fabric' });
  const certs: Record<string, CertificateAndKey> = {};
  for (const name of names) certs[name] = await createPeerCertificate(ca, name);
  return { ca, certs };
}

export const TOKEN_KEY = randomBytes(32).toString('base64');

export const ALLOW_ALL: PolicyObject = {
  name: 'allow-all',
  spec: { action: 'allow', from: [{ workloadSelector: {} }], to: [{ workloadSelector: {} }] },
};

/** Denies every connection from `peerName` (at the exporting side: its ingress decision). */
export const denyFrom = (peerName: string): PolicyObject => ({
  name: `deny-${peerName}`,
  spec: {
    action: 'deny',
    from: [{ workloadSelector: { matchLabels: { 'peer.clusterlink.net/name': peerName } } }],
    to: [{ workloadSelector: {} }],
  },
});

export interface SiteSpec {
  readonly name: string;
  readonly version?: number;
  readonly labels?: Labels;
  readonly peers?: readonly SnapshotPeer[];
  readonly exports?: readonly SnapshotExport[];
  readonly imports?: readonly SnapshotImport[];
  readonly policies?: readonly PolicyObject[];
  readonly clients?: readonly SnapshotClient[];
  readonly tokenKey?: string;
  /** Certificates other than the site's own (identity tests). */
  readonly tls?: CertificateAndKey;
  readonly ca?: string;
}

let versionCounter = 1;

export function snapshotFor(pki: Pki, spec: SiteSpec): GatewaySnapshot {
  const own = spec.tls ?? pki.certs[spec.name];
  return {
    schema: 1,
    version: spec.version ?? versionCounter++,
    localPeer: { name: spec.name, labels: spec.labels ?? {} },
    tls: { ca: spec.ca ?? pki.ca.cert, cert: own.cert, key: own.key },
    tokenKey: spec.tokenKey ?? TOKEN_KEY,
    peers: spec.peers ?? [],
    exports: spec.exports ?? [],
    imports: spec.imports ?? [],
    policies: spec.policies ?? [ALLOW_ALL],
    clients: spec.clients ?? [],
  };
}

export function peer(name: string, dp: DataPlane, extra: Partial<SnapshotPeer> = {}): SnapshotPeer {
  const { port } = dp.gatewayAddress;
  return { name, gateways: [{ host: '127.0.0.1', port }], reachable: true, labels: {}, ...extra };
}

export function exportOf(name: string, port: number, extra: Partial<SnapshotExport> = {}): SnapshotExport {
  return { name, namespace: 'default', host: '127.0.0.1', port, labels: {}, ...extra };
}

export function importOf(
  name: string,
  sources: { peer: string; exportName?: string; exportNamespace?: string }[],
  extra: Partial<SnapshotImport> & { lbScheme?: LbScheme } = {},
): SnapshotImport {
  return {
    name,
    namespace: 'default',
    listenHost: '127.0.0.1',
    listenPort: 0,
    lbScheme: 'static',
    labels: {},
    ...extra,
    sources: sources.map((s) => ({
      peer: s.peer,
      exportName: s.exportName ?? name,
      exportNamespace: s.exportNamespace ?? 'default',
    })),
  };
}

/** Owns everything a test starts, closed in afterEach. */
export class Cleanup {
  private readonly fns: (() => unknown)[] = [];
  add(fn: () => unknown): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    const fns = this.fns.splice(0).reverse();
    for (const fn of fns) {
      try {
        await fn();
      } catch (err) {
        if (process.env.CL_TEST_CLEANUP_ERRORS) console.error('cleanup failed', err);
      }
    }
  }
}

/**
 * The usual frame of a test file: a PKI for `names`, made once for the file, and a Cleanup run
 * after each test. Read `pki` inside tests and hooks (it exists once beforeAll ran).
 */
export function perFile(names: readonly string[]): { readonly pki: Pki; readonly cleanup: Cleanup } {
  const cleanup = new Cleanup();
  let pki: Pki | undefined;
  beforeAll(async () => {
    pki = await makePki(names);
  });
  afterEach(() => cleanup.run());
  return {
    cleanup,
    get pki(): Pki {
      if (!pki) throw new Error('perFile: the PKI is made in beforeAll');
      return pki;
    },
  };
}

/** `west` exports `svc` (a service listening on `servicePort`) and `east` imports it from west. */
export async function westExportsToEast(
  cleanup: Cleanup,
  pki: Pki,
  servicePort: number,
  options: Partial<DataPlaneOptions> = {},
): Promise<{ west: DataPlane; east: DataPlane }> {
  const west = await startDataPlane(cleanup, options);
  const east = await startDataPlane(cleanup, options);
  await west.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', servicePort)] }));
  await east.applySnapshot(
    snapshotFor(pki, {
      name: 'east',
      peers: [peer('west', west)],
      imports: [importOf('svc', [{ peer: 'west' }])],
    }),
  );
  return { west, east };
}

export async function startDataPlane(
  cleanup: Cleanup,
  options: Partial<DataPlaneOptions> = {},
): Promise<DataPlane> {
  const dp = new DataPlane({ gatewayHost: '127.0.0.1', gatewayPort: 0, ...options });
  await dp.start();
  cleanup.add(() => dp.close(0));
  return dp;
}

export interface Backend {
  readonly port: number;
  readonly sockets: Set<net.Socket>;
  /** Number of connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

export async function startServer(
  cleanup: Cleanup,
  onConnection: (socket: net.Socket) => void,
): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const backend: { accepted: number } = { accepted: 0 };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    backend.accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    if (server.listening) await new Promise<void>((r) => server.close(() => r()));
  };
  cleanup.add(close);
  return Object.assign(backend, { port: (server.address() as net.AddressInfo).port, sockets, close });
}

/** Echoes every byte and half-closes when the client does. */
export function startEcho(cleanup: Cleanup): Promise<Backend> {
  return startServer(cleanup, (socket) => socket.pipe(socket));
}

/**
 * Sends `payload` at once, hashes what it receives, and when the client half-closes, writes the
 * sha256 (hex) of what it received and ends: proves both directions and the half-close.
 */
export function startChecksum(cleanup: Cleanup, payload: Buffer): Promise<Backend> {
  return startServer(cleanup, (socket) => {
    const hash = createHash('sha256');
    socket.write(payload);
    socket.on('data', (chunk: Buffer) => hash.update(chunk));
    socket.once('end', () => socket.end(hash.digest('hex')));
  });
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function connectTo(address: { host: string; port: number }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export interface Outcome {
  readonly data: Buffer;
  /** How the connection ended: a clean FIN, or an error (ECONNRESET for a reset). */
  readonly end: 'fin' | 'error';
  readonly error?: NodeJS.ErrnoException;
}

/** Collects everything a socket receives until it ends or fails. */
export function collect(socket: net.Socket): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: NodeJS.ErrnoException | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', (e) => (error = e));
    socket.once('close', () => resolve({ data: Buffer.concat(chunks), end: error ? 'error' : 'fin', error }));
    socket.resume(); // readers of a response head leave the socket paused
  });
}

/** Sends `request`, half-closes, and collects the whole answer. */
export async function exchange(address: { host: string; port: number }, request: Buffer): Promise<Outcome> {
  const socket = await connectTo(address);
  const result = collect(socket);
  socket.end(request);
  return result;
}

export function importAddress(dp: DataPlane, name: string): { host: string; port: number } {
  const a = dp.importAddress('default', name);
  if (!a) throw new Error(`no listener for import ${name}`);
  return a;
}

/** Polls a condition driven by other events (metrics, counters) without fixed sleeps. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw mutual-TLS connection to a gateway with the given identity (protocol-level tests). */
export function tlsTo(
  dp: DataPlane,
  identity: CertificateAndKey,
  options: {
    ca: string;
    servername: string;
    alpn?: string[];
    ciphers?: string;
    maxVersion?: tls.SecureVersion;
  },
): Promise<tls.TLSSocket> {
  const { port } = dp.gatewayAddress;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: options.ca,
      cert: identity.cert,
      key: identity.key,
      servername: options.servername,
      ALPNProtocols: options.alpn ?? ['http/1.1'],
      ciphers: options.ciphers,
      maxVersion: options.maxVersion,
      allowHalfOpen: true,
    } as tls.ConnectionOptions);
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export async function h2To(
  dp: DataPlane,
  identity: CertificateAndKey,
  options: { ca: string; servername: string },
): Promise<http2.ClientHttp2Session> {
  const socket = await tlsTo(dp, identity, { ...options, alpn: ['h2'] });
  const session = http2.connect(`https://127.0.0.1:${dp.gatewayAddress.port}`, {
    createConnection: () => socket,
  });
  session.on('error', () => undefined);
  await once(session, 'connect');
  return session;
}

export interface H2Answer {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: string;
  readonly stream: http2.ClientHttp2Stream;
}

/** Sends one request and waits for the response head (and, unless it is a tunnel, the body). */
export function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string,
): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, {
      endStream: body === undefined && headers[':method'] !== 'CONNECT',
    });
    stream.on('error', () => undefined);
    if (body !== undefined) stream.end(body);
    stream.once('response', (h) => {
      const status = Number(h[':status']);
      if (status === 200 && headers[':method'] === 'CONNECT') {
        resolve({ status, headers: h, body: '', stream });
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('end', () =>
        resolve({ status, headers: h, body: Buffer.concat(chunks).toString(), stream }),
      );
    });
    stream.once('close', () => reject(new Error(`stream closed (rst ${stream.rstCode})`)));
  });
}
