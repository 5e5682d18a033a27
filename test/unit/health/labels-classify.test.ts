import { classifyHttpStatus, classifyProbeError } from '../../../controller/health/classify';
import { PeerIdentityError, ProbeTimeoutError } from '../../../controller/health/errors';
import {
  encodePeerLabelsHeader,
  MAX_LABELS_HEADER_BYTES,
  parsePeerLabelsHeader,
} from '../../../kernel/api/peer-labels-header';
import { checkPeerIdentity } from '../../../controller/health/probe';
import { dnsNames } from '../../../kernel/identity';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('ClusterLinkPeerLabels header', () => {
  test('round-trips labels', () => {
    const labels = { env: 'prod', 'topology.kubernetes.io/zone': 'eu-1', empty: '' };
    expect(parsePeerLabelsHeader(encodePeerLabelsHeader(labels))).toEqual({ labels });
  });

  test('absent, empty or JSON null (a Go nil map) means no labels and no error', () => {
    expect(parsePeerLabelsHeader(undefined)).toEqual({ labels: {} });
    expect(parsePeerLabelsHeader('')).toEqual({ labels: {} });
    expect(parsePeerLabelsHeader(b64('null'))).toEqual({ labels: {} });
  });

  test('URL-safe base64 is accepted', () => {
    const header = Buffer.from(JSON.stringify({ k: '>>>???' })).toString('base64url');
    expect(parsePeerLabelsHeader(header)).toEqual({ labels: { k: '>>>???' } });
  });

  test.each([
    ['not base64', '{"a":"b"}', 'the header is not base64'],
    ['not JSON', b64('a=b'), 'the header does not decode to JSON'],
    ['a JSON array', b64('["a"]'), 'the header does not hold a JSON object'],
    ['a JSON string', b64('"a"'), 'the header does not hold a JSON object'],
    ['a non-string value', b64('{"a":1}'), 'label "a" is not a string'],
    ['a nested object', b64('{"a":{"b":"c"}}'), 'label "a" is not a string'],
  ])('%s is rejected with a reason and no labels', (_label, header, error) => {
    expect(parsePeerLabelsHeader(header)).toEqual({ labels: {}, error });
  });

  test('an oversized or repeated header is rejected', () => {
    expect(parsePeerLabelsHeader('A'.repeat(MAX_LABELS_HEADER_BYTES + 4)).error).toMatch(/exceeds/);
    expect(parsePeerLabelsHeader(['a', 'b']).error).toBe('the header appears more than once');
  });

  test('keys such as __proto__ do not reach the prototype', () => {
    const parsed = parsePeerLabelsHeader(b64('{"__proto__":"x","a":"b"}'));
    expect(parsed.labels.a).toBe('b');
    expect(Object.getPrototypeOf(parsed.labels)).toBe(Object.prototype);
  });
});

describe('certificate identity', () => {
  test('DNS names in order, other SAN types skipped, quoted values unquoted', () => {
    expect(dnsNames('DNS:east, IP Address:10.0.0.1, DNS:east.example')).toEqual(['east', 'east.example']);
    expect(dnsNames('IP Address:10.0.0.1, DNS:"a, b"')).toEqual(['a, b']);
    expect(dnsNames('')).toEqual([]);
    expect(dnsNames(undefined)).toEqual([]);
  });

  test('only the first DNS name counts', () => {
    expect(checkPeerIdentity('east', { subjectaltname: 'DNS:east, DNS:west' })).toBeUndefined();
    expect(checkPeerIdentity('west', { subjectaltname: 'DNS:east, DNS:west' })).toMatchObject({
      code: 'CL_ERR_PEER_IDENTITY',
      message: 'the gateway presented a certificate for "east", expected "west"',
    });
    expect(checkPeerIdentity('east', { subjectaltname: 'IP Address:10.0.0.1' })?.message).toBe(
      `the gateway's certificate has no DNS name; expected "east"`,
    );
  });
});

describe('failure classification', () => {
  const gw = { host: 'gw.example', port: 443 };
  const err = (code: string, message = 'x', extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), { code, ...extra });

  test.each([
    [
      err('ENOTFOUND', 'getaddrinfo ENOTFOUND', { syscall: 'getaddrinfo' }),
      'DNSFailure',
      'DNS lookup of "gw.example" failed: no such host (ENOTFOUND)',
    ],
    [
      err('EAI_AGAIN', 'getaddrinfo EAI_AGAIN', { syscall: 'getaddrinfo' }),
      'DNSFailure',
      'DNS lookup of "gw.example" failed: lookup failed (EAI_AGAIN)',
    ],
    [
      err('ECONNREFUSED'),
      'TCPFailure',
      'TCP connection to gw.example:443 failed: connection refused (nothing listening on that port?) (ECONNREFUSED)',
    ],
    [
      err('EHOSTUNREACH'),
      'TCPFailure',
      'TCP connection to gw.example:443 failed: host unreachable (EHOSTUNREACH)',
    ],
    [
      err('ECONNRESET', 'socket hang up'),
      'TCPFailure',
      'TCP connection to gw.example:443 failed: the gateway closed the connection without answering (ECONNRESET)',
    ],
    [
      err('CERT_HAS_EXPIRED'),
      'TLSFailure',
      'TLS handshake with gw.example:443 failed: the gateway certificate has expired (CERT_HAS_EXPIRED)',
    ],
    [
      err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
      'TLSFailure',
      'TLS handshake with gw.example:443 failed: the gateway certificate is not signed by the fabric CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    ],
    [
      err('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'),
      'TLSFailure',
      'TLS handshake with gw.example:443 failed: the gateway does not trust our certificate (unknown CA) (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA)',
    ],
    [
      err('ERR_SSL_SOMETHING_NEW', 'odd'),
      'TLSFailure',
      'TLS handshake with gw.example:443 failed: odd (ERR_SSL_SOMETHING_NEW)',
    ],
    [
      new PeerIdentityError('east', 'west'),
      'IdentityMismatch',
      'TLS handshake with gw.example:443 failed: the gateway presented a certificate for "west", expected "east"',
    ],
    [
      err('ERR_TLS_CERT_ALTNAME_INVALID', 'Hostname/IP does not match'),
      'IdentityMismatch',
      'TLS handshake with gw.example:443 failed: Hostname/IP does not match',
    ],
    [
      new ProbeTimeoutError(3000),
      'Timeout',
      'heartbeat to gw.example:443 timed out: no response within 3000 ms',
    ],
    [new Error('weird'), 'ProbeError', 'heartbeat to gw.example:443 failed: weird'],
    ['a string', 'ProbeError', 'heartbeat to gw.example:443 failed: a string'],
  ])('%#: %s', (error, reason, message) => {
    expect(classifyProbeError(error, gw)).toEqual({ ok: false, reason, message });
  });

  test('IPv6 addresses are bracketed; HTTP status names the code', () => {
    expect(classifyHttpStatus(503, { host: 'fd00::1', port: 8443 })).toEqual({
      ok: false,
      reason: 'HTTPStatus',
      message: 'GET /healthz on [fd00::1]:8443 answered HTTP 503, expected 200',
    });
  });
});
