/**
 * Where certificates live on disk, matching upstream ClusterLink's CLI:
 *   <path>/<fabric>/cert.pem, <path>/<fabric>/key.pem          (the fabric CA)
 *   <path>/<fabric>/<peer>/cert.pem, <path>/<fabric>/<peer>/key.pem  (one peer)
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';
import { CliError } from '../errors';
import type { CertificateAndKey } from './certificates';

export const DEFAULT_FABRIC = 'default_fabric';
export const CERTIFICATE_FILE = 'cert.pem';
export const PRIVATE_KEY_FILE = 'key.pem';

export function fabricDirectory(fabric: string, basePath: string): string {
  return path.join(basePath, fabric);
}

export function peerDirectory(peer: string, fabric: string, basePath: string): string {
  return path.join(fabricDirectory(fabric, basePath), peer);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes cert.pem (0644) and key.pem (0600) into `directory`, creating it; refuses to replace
 * existing files so a CA or a peer identity is never lost by a repeated command.
 */
export async function writeCertificatePair(
  directory: string,
  pair: CertificateAndKey,
  what: string,
): Promise<void> {
  const certFile = path.join(directory, CERTIFICATE_FILE);
  const keyFile = path.join(directory, PRIVATE_KEY_FILE);
  for (const file of [certFile, keyFile]) {
    if (await exists(file)) {
      throw new CliError(
        'CL_ERR_EXISTS',
        `${file} already exists: refusing to overwrite the ${what} (remove it first)`,
      );
    }
  }
  await fs.mkdir(directory, { recursive: true, mode: 0o755 });
  // 'wx' fails if the file appeared meanwhile; the key is created with 0600 from the start.
  await fs.writeFile(keyFile, pair.key, { mode: 0o600, flag: 'wx' });
  await fs.writeFile(certFile, pair.cert, { mode: 0o644, flag: 'wx' });
}

/** Reads and parses cert.pem + key.pem from `directory`; `hint` tells the user how to create them. */
export async function readCertificatePair(
  directory: string,
  what: string,
  hint: string,
): Promise<CertificateAndKey> {
  const certFile = path.join(directory, CERTIFICATE_FILE);
  const keyFile = path.join(directory, PRIVATE_KEY_FILE);
  let cert: string;
  let key: string;
  try {
    // One after the other: with both missing, the message always names the certificate.
    cert = await fs.readFile(certFile, 'utf8');
    key = await fs.readFile(keyFile, 'utf8');
  } catch (err) {
    throw new CliError(
      'CL_ERR_NOT_FOUND',
      `cannot read the ${what} in ${directory} (${(err as Error).message}); ${hint}`,
      {
        cause: err,
      },
    );
  }
  parseCertificate(certFile, cert);
  if (!/-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(key)) {
    throw new CliError('CL_ERR_BAD_CERTIFICATE', `${keyFile} does not hold a PEM private key`);
  }
  return { cert, key };
}

export function parseCertificate(file: string, pem: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (err) {
    throw new CliError(
      'CL_ERR_BAD_CERTIFICATE',
      `${file} does not hold a PEM certificate: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
