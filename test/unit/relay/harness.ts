/**
 * Real loopback endpoints for relay tests: plain TCP, TLS and an HTTP/2 stream pair, plus payload
 * helpers (large random data, streaming SHA-256 of what arrives).
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';

/** Everything a test opened, closed in afterEach. */
export class Resources {
  private readonly closers: (() => void | Promise<void>)[] = [];
  add(close: () => void | Promise<void>): void {
    this.closers.push(close);
  }
  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close();
  }
}

/** Two connected ends of one transport: what `left` writes, `right` reads, and vice versa. */
export interface Pair {
  readonly left: Duplex;
  readonly right: Duplex;
  /** h2 only: sends RST_STREAM(CANCEL) from the left (client) end, as the request's signal does. */
  readonly cancelLeft?: () => void;
}

async function listen(server: net.Server, res: Resources): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  res.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

export async function tcpPair(res: Resources): Promise<Pair & { server: net.Server }> {
  const server = net.createServer({ allowHalfOpen: true });
  const port = await listen(server, res);
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const left = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(left, 'connect');
  const [right] = await accepted;
  res.add(() => {
    left.destroy();
    right.destroy();
  });
  return { left, right, server };
}

export interface TestPki {
  readonly ca: string;
  readonly server: { cert: string; key: string };
  readonly client: { cert: string; key: string };
}

let pki: Promise<TestPki> | undefined;
export function testPki(): Promise<TestPki> {
  pki ??= (async () => {
    const ca = await createCertificateAuthority({ commonName: 'relay-test-ca' });
    return {
      ca: ca.cert,
      server: await createPeerCertificate(ca, 'server.test'),
      client: await createPeerCertificate(ca, 'client.test'),
    };
  })();
  return pki;
}

export async function tlsPair(res: Resources): Promise<Pair> {
  const p = await testPki();
  const server = tls.createServer({
    cert: p.server.cert,
    key: p.server.key,
    ca: p.ca,
    requestCert: true,
    rejectUnauthorized: true,
    allowHalfOpen: true,
  });
  const port = await listen(server, res);
  const accepted = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>;
  const left = tls.connect({
    port,
    host: '127.0.0.1',
    servername: 'server.test',
    ca: p.ca,
    cert: p.client.cert,
    key: p.client.key,
  });
  // Half-close both ways, like the tunnels' own sockets (tls.connect does not take allowHalfOpen).
  left.allowHalfOpen = true;
  await once(left, 'secureConnect');
  const [right] = await accepted;
  res.add(() => {
    left.destroy();
    right.destroy();
  });
  return { left, right };
}

/** An h2 session over TLS and a factory of stream pairs on it (client stream, server stream). */
export async function h2Session(res: Resources): Promise<{ streamPair(): Promise<Pair> }> {
  const p = await testPki();
  const server = http2.createSecureServer({
    cert: p.server.cert,
    key: p.server.key,
    ca: p.ca,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const waiting: ((s: http2.ServerHttp2Stream) => void)[] = [];
  server.on('stream', (stream: http2.ServerHttp2Stream) => {
    stream.respond({ ':status': 200 });
    waiting.shift()?.(stream);
  });
  const port = await listen(server as unknown as net.Server, res);
  const client = http2.connect(`https://127.0.0.1:${port}`, {
    servername: 'server.test',
    ca: p.ca,
    cert: p.client.cert,
    key: p.client.key,
  });
  client.on('error', () => undefined);
  await once(client, 'connect');
  res.add(() => {
    client.destroy();
    for (const s of sessions) s.destroy();
  });
  return {
    async streamPair(): Promise<Pair> {
      const serverStream = new Promise<http2.ServerHttp2Stream>((resolve) => waiting.push(resolve));
      const cancel = new AbortController();
      const left = client.request(
        { ':method': 'CONNECT', ':authority': 'svc.test:1' },
        { signal: cancel.signal },
      );
      const [right] = await Promise.all([serverStream, once(left, 'response')]);
      left.on('error', () => undefined);
      right.on('error', () => undefined);
      res.add(() => {
        left.destroy();
        right.destroy();
      });
      return { left, right, cancelLeft: () => cancel.abort() };
    },
  };
}

/** Writes `total` bytes of random data (chunks of a fixed random block, with an index to vary them), honouring backpressure, then ends. */
export function sendRandom(stream: Duplex, total: number): { sha256: Promise<string>; written(): number } {
  const block = randomBytes(256 * 1024);
  const hash = createHash('sha256');
  let written = 0;
  const sha256 = new Promise<string>((resolve, reject) => {
    const pump = (): void => {
      while (written < total) {
        const n = Math.min(block.length, total - written);
        const chunk = Buffer.from(block.subarray(0, n));
        chunk.writeUInt32BE(written >>> 0, 0); // every chunk differs, so reordering would show
        hash.update(chunk);
        written += n;
        if (!stream.write(chunk)) {
          stream.once('drain', pump);
          return;
        }
      }
      stream.end();
      resolve(hash.digest('hex'));
    };
    stream.once('error', reject);
    pump();
  });
  return { sha256, written: () => written };
}

/** Hashes everything `stream` delivers until its end. */
export function receiveAll(stream: Duplex): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    stream.once('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
    stream.once('error', reject);
  });
}

/** Resolves with the error (or 'end'/'close' as a string) that ends `stream` first. */
export function firstEnding(stream: Duplex): Promise<NodeJS.ErrnoException | 'end' | 'close'> {
  return new Promise((resolve) => {
    stream.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    stream.once('end', () => resolve('end'));
    stream.once('close', () => resolve('close'));
    stream.resume();
  });
}
