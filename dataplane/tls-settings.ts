/**
 * TLS settings of the gateway port and of connections to remote gateways, in one place.
 *
 * - TLS 1.2 at least, 1.3 preferred (both ends offer it; the handshake picks the highest).
 * - Only AEAD suites, with forward secrecy in TLS 1.2 (ECDHE): no CBC, no static RSA, no DHE.
 * - AES-128-GCM first. It is a TLS 1.3 mandatory suite and the first choice of Go's TLS stack
 *   (upstream gateways) on CPUs with AES instructions; against AES-256-GCM, Node's default first
 *   choice, it saves about a quarter of the AES work, and encryption is a fifth of a gateway's CPU
 *   per byte relayed (docs/benchmarks.md). The server's order decides (honorCipherOrder), so a
 *   peer preferring another suite of this list still connects.
 */
import type { SecureContextOptions } from 'node:tls';

export const GATEWAY_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Protocol versions and suites, for tls.createServer / createSecureContext / tls.connect. */
export const GATEWAY_TLS: Pick<SecureContextOptions, 'minVersion' | 'ciphers' | 'honorCipherOrder'> = {
  minVersion: 'TLSv1.2',
  ciphers: GATEWAY_CIPHERS,
  honorCipherOrder: true,
};
