/**
 * X.509 certificate authority and leaf certificates for the fabric (and for test infrastructure),
 * built with @peculiar/x509 over Node's WebCrypto. Keys are ECDSA P-256 by default, RSA 2048 on request.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 types through tsyringe, which needs it
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

// The library's parameter type is the DOM `Crypto`, which Node's lib-less typings do not declare.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyType = 'ecdsa' | 'rsa';

export interface CertificateAndKey {
  /** PEM of the certificate. */
  readonly cert: string;
  /** PEM (PKCS#8) of the private key. */
  readonly key: string;
}

export interface CreateCaOptions {
  readonly commonName: string;
  /** @default 'ecdsa' */
  readonly keyType?: KeyType;
  /** @default 3650 */
  readonly validDays?: number;
}

export interface CreateCertOptions {
  readonly ca: CertificateAndKey;
  readonly commonName: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** Subject organizations (Kubernetes maps O to groups). */
  readonly organizations?: readonly string[];
  /** @default true */
  readonly serverAuth?: boolean;
  /** @default true */
  readonly clientAuth?: boolean;
  /** @default 'ecdsa' */
  readonly keyType?: KeyType;
  /** @default 825 */
  readonly validDays?: number;
  /** Overrides the validity start (tests make expired certificates with it). */
  readonly notBefore?: Date;
}

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

function algorithmFor(keyType: KeyType) {
  return keyType === 'rsa' ? RSA : ECDSA;
}

async function generateKeys(keyType: KeyType): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithmFor(keyType), true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKeyPem(pem: string, keyType: KeyType): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  return webcrypto.subtle.importKey('pkcs8', der, algorithmFor(keyType), true, ['sign']);
}

function keyTypeOf(cert: x509.X509Certificate): KeyType {
  return cert.publicKey.algorithm.name === 'ECDSA' ? 'ecdsa' : 'rsa';
}

function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}

function escapeDn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

export async function createCertificateAuthority(options: CreateCaOptions): Promise<CertificateAndKey> {
  const keyType = options.keyType ?? 'ecdsa';
  const keys = await generateKeys(keyType);
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${escapeDn(options.commonName)}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.validDays ?? 3650) * 86_400_000),
    signingAlgorithm: algorithmFor(keyType),
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: (await exportKeyPem(keys.privateKey)) + '\n' };
}

export async function createCertificate(options: CreateCertOptions): Promise<CertificateAndKey> {
  const caCert = new x509.X509Certificate(options.ca.cert);
  const caKeyType = keyTypeOf(caCert);
  const caKey = await importKeyPem(options.ca.key, caKeyType);
  const keyType = options.keyType ?? 'ecdsa';
  const keys = await generateKeys(keyType);
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);

  const altNames: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const usages: string[] = [];
  if (options.serverAuth ?? true) usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (options.clientAuth ?? true) usages.push(x509.ExtendedKeyUsage.clientAuth);

  const subject = [
    `CN=${escapeDn(options.commonName)}`,
    ...(options.organizations ?? []).map((o) => `O=${escapeDn(o)}`),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: subject.join(', '),
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.validDays ?? 825) * 86_400_000),
    signingAlgorithm: algorithmFor(caKeyType),
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | (keyType === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0),
        true,
      ),
      new x509.ExtendedKeyUsageExtension(usages, false),
      ...(altNames.length ? [new x509.SubjectAlternativeNameExtension(altNames, false)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: (await exportKeyPem(keys.privateKey)) + '\n' };
}

/**
 * A peer certificate: CN and first DNS SAN = the peer name (its identity), then `dataplane.<peer>`,
 * the server name upstream ClusterLink gateways send when they open tunnels to a peer.
 */
export async function createPeerCertificate(
  ca: CertificateAndKey,
  peerName: string,
  options: Partial<Omit<CreateCertOptions, 'ca' | 'commonName'>> = {},
): Promise<CertificateAndKey> {
  return createCertificate({
    ...options,
    ca,
    commonName: peerName,
    dnsNames: [peerName, `dataplane.${peerName}`, ...(options.dnsNames ?? [])],
  });
}
