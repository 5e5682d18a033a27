/**
 * Peer identity from certificates: the peer name is the first DNS SAN (DESIGN.md section 5).
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket, PeerCertificate } from 'node:tls';

/** First `DNS:` entry of a Node `subjectaltname` string ("DNS:east, IP Address:10.0.0.1"). */
export function firstDnsSan(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined;
  for (const entry of subjectAltName.split(', ')) {
    if (entry.startsWith('DNS:')) {
      const name = entry.slice(4);
      return name.length > 0 ? name : undefined;
    }
  }
  return undefined;
}

/** The peer name of a certificate in PEM (the first certificate of the bundle). */
export function peerNameOfPem(pem: string): string | undefined {
  try {
    return firstDnsSan(new X509Certificate(pem).subjectAltName);
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
