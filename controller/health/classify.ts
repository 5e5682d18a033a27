/**
 * Turns a heartbeat error into a condition reason and one human sentence. The distinction matters
 * to the user: DNS (wrong host), TCP (nothing listening, firewall), TLS (wrong CA, expired or
 * refused certificate), identity (right CA, wrong peer name), HTTP status (the gateway answered but
 * is unhealthy), timeout.
 */
import type { FailureReason, Gateway, ProbeFailure } from './types';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'EAI_SERVICE']);

const TCP_MESSAGES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (nothing listening on that port?)',
  ECONNRESET: 'connection reset by the gateway',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host is down',
  ETIMEDOUT: 'connection attempt timed out',
  EPIPE: 'connection closed by the gateway',
  EADDRNOTAVAIL: 'address not available',
  ECONNABORTED: 'connection aborted',
};

/** Certificate verification errors (OpenSSL names, as Node reports them in `code`). */
const CERTIFICATE_MESSAGES: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the gateway certificate is not signed by the fabric CA',
  UNABLE_TO_GET_ISSUER_CERT: 'the gateway certificate is not signed by the fabric CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the gateway certificate is not signed by the fabric CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'the gateway certificate chains to a CA other than the fabric CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the gateway certificate is self-signed, not issued by the fabric CA',
  CERT_SIGNATURE_FAILURE: 'the gateway certificate signature is invalid',
  CERT_HAS_EXPIRED: 'the gateway certificate has expired',
  CERT_NOT_YET_VALID: 'the gateway certificate is not yet valid',
  CERT_REVOKED: 'the gateway certificate is revoked',
  CERT_UNTRUSTED: 'the gateway certificate is not trusted',
  CERT_REJECTED: 'the gateway certificate was rejected',
  INVALID_CA: 'the gateway certificate chain contains an invalid CA',
  INVALID_PURPOSE: 'the gateway certificate may not be used by a server',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the gateway does not speak TLS on this port',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the gateway does not trust our certificate (unknown CA)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the gateway refused our certificate',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'the gateway requires a client certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'the gateway says our certificate has expired',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'the gateway could not verify our certificate',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'no common TLS parameters with the gateway',
};

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Duck-typed: errors from Node core may come from another realm (jest vm contexts). */
export function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

export function formatAddress(gateway: Gateway): string {
  return gateway.host.includes(':') ? `[${gateway.host}]:${gateway.port}` : `${gateway.host}:${gateway.port}`;
}

/**
 * OpenSSL errors arrive as `write EPROTO 80..:error:0A00010B:SSL routines:ssl3_get_record:wrong
 * version number:../deps/openssl/...`; keep the reason, in words a user can act on.
 */
function openSslReason(message: string): string {
  const reason = /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1]?.trim();
  if (reason === undefined) return message.trim();
  if (reason === 'wrong version number' || reason === 'packet length too long') {
    return 'the gateway does not speak TLS on this port';
  }
  return reason;
}

function failure(reason: FailureReason, message: string): ProbeFailure {
  return { ok: false, reason, message };
}

/** Classifies an error thrown while probing `gateway`. */
export function classifyProbeError(err: unknown, gateway: Gateway): ProbeFailure {
  const code = codeOf(err);
  const at = formatAddress(gateway);
  const suffix = code ? ` (${code})` : '';
  if (code === 'CL_ERR_PEER_IDENTITY' || code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return failure('IdentityMismatch', `TLS handshake with ${at} failed: ${messageOf(err)}`);
  }
  if (code === 'CL_ERR_PROBE_TIMEOUT') {
    return failure('Timeout', `heartbeat to ${at} timed out: ${messageOf(err)}`);
  }
  if ((code && DNS_CODES.has(code)) || (err as { syscall?: unknown } | null)?.syscall === 'getaddrinfo') {
    const what = code === 'ENOTFOUND' ? 'no such host' : 'lookup failed';
    return failure('DNSFailure', `DNS lookup of "${gateway.host}" failed: ${what}${suffix}`);
  }
  if (code && Object.prototype.hasOwnProperty.call(CERTIFICATE_MESSAGES, code)) {
    return failure('TLSFailure', `TLS handshake with ${at} failed: ${CERTIFICATE_MESSAGES[code]}${suffix}`);
  }
  if (code && (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO')) {
    return failure(
      'TLSFailure',
      `TLS handshake with ${at} failed: ${openSslReason(messageOf(err))}${suffix}`,
    );
  }
  if (code && Object.prototype.hasOwnProperty.call(TCP_MESSAGES, code)) {
    // "socket hang up": the TCP connection was accepted and then closed without an HTTP answer.
    const detail =
      messageOf(err) === 'socket hang up'
        ? 'the gateway closed the connection without answering'
        : TCP_MESSAGES[code];
    return failure('TCPFailure', `TCP connection to ${at} failed: ${detail}${suffix}`);
  }
  return failure('ProbeError', `heartbeat to ${at} failed: ${messageOf(err)}${suffix}`);
}

/** A completed HTTP exchange whose status is not 200. */
export function classifyHttpStatus(status: number, gateway: Gateway): ProbeFailure {
  return failure(
    'HTTPStatus',
    `GET /healthz on ${formatAddress(gateway)} answered HTTP ${status}, expected 200`,
  );
}
