/**
 * Real heartbeats over mutual TLS on loopback: a gateway-like HTTPS server with certificates from
 * cli/pki, probed by HttpsProber and by HeartbeatMonitor.
 */
import * as https from 'node:https';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  createCertificateAuthority,
  createPeerCertificate,
  type CertificateAndKey,
} from '../../../cli/pki/certificates';
import { encodePeerLabelsHeader } from '../../../kernel/api/peer-labels-header';
import { HeartbeatMonitor } from '../../../controller/health/monitor';
import { HttpsProber, type Prober } from '../../../controller/health/probe';
import type { Gateway, PeerHealth, ProbeResult } from '../../../controller/health/types';
import { FakeClock } from './fake-clock';

jest.setTimeout(30_000);

let fabric: CertificateAndKey;
let otherCa: CertificateAndKey;
let east: CertificateAndKey; // the peer we probe
let eastByOtherCa: CertificateAndKey;
let west: CertificateAndKey; // a valid fabric certificate with the wrong name
let local: CertificateAndKey; // our own certificate

beforeAll(async () => {
  fabric = await createCertificateAuthority({ commonName: 'fabric' });
  otherCa = await createCertificateAuthority({ commonName: 'impostor' });
  [east, eastByOtherCa, west, local] = await Promise.all([
    createPeerCertificate(fabric, 'east'),
    createPeerCertificate(otherCa, 'east'),
    createPeerCertificate(fabric, 'west'),
    createPeerCertificate(fabric, 'local'),
  ]);
});

/** The answer to a request: a status, null (never answer) or 'hang-up' (close without answering). */
type Handler = (req: {
  url?: string;
  method?: string;
  peerName?: string;
}) => { status: number; headers?: Record<string, string> } | null | 'hang-up';

interface TestGateway {
  readonly gateway: Gateway;
  readonly connections: () => number;
  readonly openSockets: () => number;
  readonly requests: { url?: string; method?: string; peerName?: string }[];
  handler: Handler;
  close(): Promise<void>;
}

const servers: TestGateway[] = [];

/** An mTLS server like a gateway: requires a client certificate from `clientCa`. */
async function startGateway(
  serverCert: CertificateAndKey,
  handler: Handler,
  options: { clientCa?: string } = {},
): Promise<TestGateway> {
  let connections = 0;
  const open = new Set<net.Socket>();
  const requests: TestGateway['requests'] = [];
  const server = https.createServer({
    ca: options.clientCa ?? fabric.cert,
    cert: serverCert.cert,
    key: serverCert.key,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const state: TestGateway = {
    gateway: { host: '127.0.0.1', port: 0 },
    connections: () => connections,
    openSockets: () => open.size,
    requests,
    handler,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('secureConnection', (socket) => {
    connections++;
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  server.on('request', (req, res) => {
    const cn = (req.socket as TLSSocket).getPeerCertificate().subject?.CN;
    const peerName = Array.isArray(cn) ? cn[0] : cn;
    requests.push({ url: req.url, method: req.method, peerName });
    const answer = state.handler({ url: req.url, method: req.method, peerName });
    if (answer === null) return; // never answer (timeout tests)
    if (answer === 'hang-up') {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, answer.headers ?? {});
    res.end(answer.status === 200 ? '' : 'unhealthy');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (state as { gateway: Gateway }).gateway = {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
  };
  servers.push(state);
  return state;
}

const healthy: Handler = () => ({
  status: 200,
  headers: { ClusterLinkPeerLabels: encodePeerLabelsHeader({ env: 'prod' }) },
});

const tls = () => ({ ca: fabric.cert, cert: local.cert, key: local.key });
const probers: HttpsProber[] = [];
function prober(timeoutMs = 3000): HttpsProber {
  const p = new HttpsProber({ tls: tls(), timeoutMs });
  probers.push(p);
  return p;
}
const signal = () => new AbortController().signal;

afterEach(async () => {
  for (const p of probers.splice(0)) p.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('HttpsProber against a real mTLS gateway', () => {
  test('reachable: GET /healthz with our certificate, labels parsed, RTT measured', async () => {
    const gw = await startGateway(east, healthy);
    const result = await prober().probe('east', gw.gateway, signal());
    expect(result).toEqual({ ok: true, rttMs: expect.any(Number), labels: { env: 'prod' } });
    expect((result as { rttMs: number }).rttMs).toBeGreaterThan(0);
    expect(gw.requests).toEqual([{ url: '/healthz', method: 'GET', peerName: 'local' }]);
  });

  test('one persistent connection carries successive heartbeats', async () => {
    const gw = await startGateway(east, healthy);
    const p = prober();
    for (let i = 0; i < 3; i++) expect((await p.probe('east', gw.gateway, signal())).ok).toBe(true);
    expect(gw.requests).toHaveLength(3);
    expect(gw.connections()).toBe(1);
  });

  test('a kept-alive connection the gateway dropped is retried once on a new connection', async () => {
    let n = 0;
    const gw = await startGateway(east, (req) => (++n === 2 ? 'hang-up' : healthy(req)));
    const p = prober();
    expect((await p.probe('east', gw.gateway, signal())).ok).toBe(true);
    expect(await p.probe('east', gw.gateway, signal())).toMatchObject({ ok: true, labels: { env: 'prod' } });
    expect(gw.requests).toHaveLength(3);
    expect(gw.connections()).toBe(2);
  });

  test('a gateway that hangs up on every new connection is a failure, tried once', async () => {
    const gw = await startGateway(east, () => 'hang-up');
    // Indistinguishable on our side from a TLS 1.3 refusal of our certificate, hence TLSFailure.
    expect(await prober().probe('east', gw.gateway, signal())).toMatchObject({
      ok: false,
      reason: 'TLSFailure',
    });
    expect(gw.requests).toHaveLength(1);
  });

  test('a missing labels header means no labels; a garbled one is reported', async () => {
    const gw = await startGateway(east, () => ({ status: 200 }));
    expect(await prober().probe('east', gw.gateway, signal())).toMatchObject({ ok: true, labels: {} });
    gw.handler = () => ({ status: 200, headers: { ClusterLinkPeerLabels: '!!!' } });
    expect(await prober().probe('east', gw.gateway, signal())).toMatchObject({
      ok: true,
      labels: {},
      labelsError: 'the header is not base64',
    });
  });

  test('HTTP 500 is an HTTPStatus failure', async () => {
    const gw = await startGateway(east, () => ({ status: 500 }));
    expect(await prober().probe('east', gw.gateway, signal())).toEqual({
      ok: false,
      reason: 'HTTPStatus',
      message: `GET /healthz on 127.0.0.1:${gw.gateway.port} answered HTTP 500, expected 200`,
    });
  });

  test('a fabric certificate with another name is an identity mismatch', async () => {
    const gw = await startGateway(west, healthy);
    expect(await prober().probe('east', gw.gateway, signal())).toEqual({
      ok: false,
      reason: 'IdentityMismatch',
      message: `TLS handshake with 127.0.0.1:${gw.gateway.port} failed: the gateway presented a certificate for "west", expected "east"`,
    });
    expect(gw.requests).toHaveLength(0); // nothing was sent to the impostor
  });

  test('a certificate from another CA is a TLS failure', async () => {
    const gw = await startGateway(eastByOtherCa, healthy);
    const result = await prober().probe('east', gw.gateway, signal());
    expect(result).toMatchObject({ ok: false, reason: 'TLSFailure' });
    expect((result as { message: string }).message).toMatch(
      new RegExp(
        `^TLS handshake with 127\\.0\\.0\\.1:${gw.gateway.port} failed: the gateway certificate .*fabric CA`,
      ),
    );
    expect(gw.requests).toHaveLength(0);
  });

  test('a gateway that refuses our certificate is a TLS failure', async () => {
    const gw = await startGateway(east, healthy, { clientCa: otherCa.cert });
    const result = await prober().probe('east', gw.gateway, signal());
    // TLS 1.3: the refusal comes after our side finished the handshake, as an alert or a reset.
    expect(result).toMatchObject({ ok: false, reason: 'TLSFailure' });
    expect((result as { message: string }).message).toMatch(
      /^TLS handshake with 127\.0\.0\.1:\d+ failed: the gateway (closed the connection right after the TLS handshake without answering \(it may not accept our certificate\)|does not trust our certificate \(unknown CA\))/,
    );
    expect(gw.requests).toHaveLength(0);
  });

  test('connection refused is a TCP failure', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    expect(await prober().probe('east', { host: '127.0.0.1', port }, signal())).toEqual({
      ok: false,
      reason: 'TCPFailure',
      message: `TCP connection to 127.0.0.1:${port} failed: connection refused (nothing listening on that port?) (ECONNREFUSED)`,
    });
  });

  test('an unresolvable name is a DNS failure', async () => {
    const result = await prober().probe('east', { host: 'gateway.clusterlink.invalid', port: 443 }, signal());
    expect(result).toMatchObject({ ok: false, reason: 'DNSFailure' });
    expect((result as { message: string }).message).toMatch(
      /^DNS lookup of "gateway\.clusterlink\.invalid" failed: /,
    );
  });

  test('a gateway that never answers times out', async () => {
    const gw = await startGateway(east, () => null);
    expect(await prober(300).probe('east', gw.gateway, signal())).toEqual({
      ok: false,
      reason: 'Timeout',
      message: `heartbeat to 127.0.0.1:${gw.gateway.port} timed out: no response within 300 ms`,
    });
    // The stuck connection was dropped, not kept for the next heartbeat.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(gw.openSockets()).toBe(0);
  });

  test('a plain HTTP listener is a TLS failure: the gateway does not speak TLS', async () => {
    const plain = net.createServer((socket) => {
      socket.resume(); // read, so the client's close is seen and the socket ends
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const port = (plain.address() as AddressInfo).port;
      const result = await prober().probe('east', { host: '127.0.0.1', port }, signal());
      expect(result).toEqual({
        ok: false,
        reason: 'TLSFailure',
        message: `TLS handshake with 127.0.0.1:${port} failed: the gateway does not speak TLS on this port (EPROTO)`,
      });
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  test('aborting a probe rejects with ProbeAbortedError and closes the connection', async () => {
    const gw = await startGateway(east, () => null);
    const abort = new AbortController();
    const pending = prober().probe('east', gw.gateway, abort.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CL_ERR_PROBE_ABORTED' });
  });
});

describe('HeartbeatMonitor with real heartbeats', () => {
  /** A monitor on a fake clock whose probes are real; `settled()` waits for probes in flight. */
  function monitorFor(timeoutMs = 3000) {
    const clock = new FakeClock();
    const real = prober(timeoutMs);
    const inFlight: Promise<ProbeResult>[] = [];
    const counting: Prober = {
      probe: (peer, gateway, s) => {
        const p = real.probe(peer, gateway, s);
        inFlight.push(
          p.catch(() => ({ ok: false, reason: 'ProbeError', message: 'aborted' }) as ProbeResult),
        );
        return p;
      },
      forget: (peer, gateway) => real.forget(peer, gateway),
      close: () => real.close(),
    };
    const monitor = new HeartbeatMonitor({ prober: counting, clock });
    const events: PeerHealth[] = [];
    monitor.on('change', (e) => events.push(e));
    const tick = async (ms: number) => {
      await clock.advance(ms);
      await Promise.all(inFlight.splice(0));
      await clock.advance(0);
    };
    return { monitor, events, tick, real };
  }

  test('reachable, then HTTP 500 for 5 beats (unreachable), then recovery after 3 beats', async () => {
    const gw = await startGateway(east, healthy);
    const { monitor, events, tick } = monitorFor();
    monitor.update([{ name: 'east', gateways: [gw.gateway] }]);
    await tick(0);
    expect(monitor.status('east')).toMatchObject({
      reachable: true,
      reason: 'HeartbeatSucceeded',
      labels: { env: 'prod' },
      rttMs: expect.any(Number),
    });

    gw.handler = () => ({ status: 500 });
    for (let i = 0; i < 4; i++) await tick(1000);
    expect(monitor.status('east')?.reachable).toBe(true);
    await tick(1000);
    expect(monitor.status('east')).toMatchObject({
      reachable: false,
      verdict: 'unreachable',
      reason: 'HTTPStatus',
      labels: { env: 'prod' },
    });

    gw.handler = healthy;
    await tick(10_000);
    await tick(10_000);
    expect(monitor.status('east')?.reachable).toBe(false);
    await tick(10_000);
    expect(monitor.status('east')).toMatchObject({ reachable: true, verdict: 'reachable' });
    expect(events.map((e) => `${e.verdict}/${e.reason}`)).toEqual([
      'reachable/HeartbeatSucceeded',
      'unreachable/HTTPStatus',
      'reachable/HeartbeatSucceeded',
    ]);
    expect(gw.requests.every((r) => r.peerName === 'local' && r.url === '/healthz')).toBe(true);
    await monitor.close();
  });

  test('a wrong-CA gateway and an unresolvable gateway: reasons reach the peer status', async () => {
    const bad = await startGateway(eastByOtherCa, healthy);
    const { monitor, tick } = monitorFor();
    monitor.update([
      { name: 'east', gateways: [bad.gateway] },
      { name: 'nowhere', gateways: [{ host: 'nowhere.invalid', port: 443 }] },
    ]);
    for (let i = 0; i < 5; i++) await tick(i === 0 ? 0 : 1000);
    expect(monitor.status('east')).toMatchObject({ verdict: 'unreachable', reason: 'TLSFailure' });
    expect(monitor.status('nowhere')).toMatchObject({ verdict: 'unreachable', reason: 'DNSFailure' });
    await monitor.close();
  });

  test('deleting a peer closes its connection; close() leaves no socket open', async () => {
    const gwEast = await startGateway(east, healthy);
    const gwWest = await startGateway(west, healthy);
    const { monitor, tick } = monitorFor();
    monitor.update([
      { name: 'east', gateways: [gwEast.gateway] },
      { name: 'west', gateways: [gwWest.gateway] },
    ]);
    await tick(0);
    await tick(1000);
    expect(gwEast.connections()).toBe(1);
    expect(gwEast.openSockets()).toBe(1);
    monitor.update([{ name: 'west', gateways: [gwWest.gateway] }]);
    await waitFor(() => gwEast.openSockets() === 0);
    const eastRequests = gwEast.requests.length;
    await tick(3000);
    expect(gwEast.requests.length).toBe(eastRequests);
    expect(gwWest.requests.length).toBeGreaterThanOrEqual(4);
    await monitor.close();
    await waitFor(() => gwWest.openSockets() === 0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
