/**
 * Peer identity from certificates: the peer name is the first DNS SAN (DESIGN.md section 5), never
 * the subject's CN. The one implementation for the control planes, the data plane and the CLI.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket, PeerCertificate } from 'node:tls';

/** The DNS names of a certificate in order, from Node's `subjectaltname` string. */
export function dnsNames(subjectAltName: string | undefined): string[] {
  if (typeof subjectAltName !== 'string' || subjectAltName.length === 0) return [];
  // Entries look like `DNS:east, IP Address:10.0.0.1`; Node quotes values containing separators.
  const names: string[] = [];
  const entry = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = entry.exec(subjectAltName); m !== null; m = entry.exec(subjectAltName)) {
    if (m[1] !== 'DNS') continue;
    names.push(m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2]);
  }
  return names;
}

/** The peer name in a Node `subjectaltname` string: its first DNS name, if any and not empty. */
export function firstDnsSan(subjectAltName: string | undefined): string | undefined {
  return dnsNames(subjectAltName)[0] || undefined;
}

/** The peer name of a parsed certificate; undefined when it has no DNS SAN. */
export function peerNameOfCertificate(cert: X509Certificate): string | undefined {
  return firstDnsSan(cert.subjectAltName);
}

/** The peer name of a certificate in PEM (the first certificate of the bundle). */
export function peerNameOfPem(pem: string): string | undefined {
  try {
    return peerNameOfCertificate(new X509Certificate(pem));
  } catch {
    return undefined;
  }
}

/** The authenticated peer name of a TLS connection whose client certificate the server verified. */
export function peerNameOfSocket(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
  return firstDnsSan((cert as PeerCertificate).subjectaltname);
}

/** Expiry (ms since the epoch) of the verified client certificate of a TLS connection. */
export function peerCertificateExpiry(socket: TLSSocket): number | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
  const t = Date.parse((cert as PeerCertificate).valid_to ?? '');
  return Number.isFinite(t) ? t : undefined;
}
