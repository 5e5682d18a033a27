/**
 * A gateway's TLS identity: the fabric CA, this peer's certificate and key, read from files (by
 * default ca.pem, cert.pem and key.pem in one directory: the standalone configuration directory
 * or the mounted /etc/clusterlink) and checked before use, so a wrong file is reported by name
 * instead of failing every handshake later.
 */
import { promises as fs } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as path from 'node:path';
import type { SnapshotTls } from '../kernel/api/snapshot';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../kernel/api/conventions';
import { ClusterLinkError } from '../kernel/errors';
import { peerNameOfCertificate } from '../kernel/identity';

export interface CertificateFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export function defaultCertificateFiles(dir: string): CertificateFiles {
  return { ca: path.join(dir, CA_FILE), cert: path.join(dir, CERT_FILE), key: path.join(dir, KEY_FILE) };
}

export interface PeerIdentity {
  readonly tls: SnapshotTls;
  /** This peer's name: the first DNS SAN of its certificate. */
  readonly peerName: string;
  readonly notAfter: Date;
}

export class CertificateError extends ClusterLinkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CL_ERR_BAD_CERTIFICATE', message, options);
  }
}

async function read(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new CertificateError(
      `${file}: cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}

function parse(file: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new CertificateError(`${file}: not a PEM certificate (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Waits for all reads; when some failed, throws the failure of the first file in the given order,
 * so that the same missing files always give the same message (Promise.all would report whichever
 * read failed first in time).
 */
async function readAllInOrder(reads: readonly Promise<string>[]): Promise<string[]> {
  const results = await Promise.allSettled(reads);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<string>).value);
}

export async function loadPeerIdentity(files: CertificateFiles, now = new Date()): Promise<PeerIdentity> {
  const [caPem, certPem, keyPem] = await readAllInOrder([
    read(files.ca, 'fabric CA certificate'),
    read(files.cert, 'peer certificate'),
    read(files.key, 'peer private key'),
  ]);
  const ca = parse(files.ca, caPem);
  const cert = parse(files.cert, certPem);
  if (!ca.ca) throw new CertificateError(`${files.ca}: not a CA certificate (basicConstraints CA:FALSE)`);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new CertificateError(`${files.key}: not a PEM private key (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (!cert.checkPrivateKey(key))
    throw new CertificateError(`${files.key}: does not match the certificate in ${files.cert}`);
  if (!cert.verify(ca.publicKey))
    throw new CertificateError(`${files.cert}: not signed by the fabric CA in ${files.ca}`);
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() < now.getTime())
    throw new CertificateError(`${files.cert}: expired on ${notAfter.toISOString()}`);
  const peerName = peerNameOfCertificate(cert);
  if (!peerName)
    throw new CertificateError(`${files.cert}: has no DNS subject alternative name (the peer name)`);
  return { tls: { ca: caPem, cert: certPem, key: keyPem }, peerName, notAfter };
}
