/**
 * One heartbeat: `GET /healthz` over mutual TLS to one gateway of a peer. SNI is the peer name; the
 * server certificate must chain to the fabric CA and its first DNS SAN must equal the peer name; we
 * present our own certificate. Each gateway keeps one persistent connection (keep-alive agent with
 * a single socket), dropped after any failure so the next probe starts clean.
 */
import * as https from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { PEER_LABELS_HEADER } from '../../kernel/api/labels';
import { firstDnsSan } from '../../kernel/identity';
import { classifyHttpStatus, classifyProbeError, formatAddress } from './classify';
import { PeerIdentityError, ProbeAbortedError, ProbeTimeoutError } from './errors';
import { parsePeerLabelsHeader } from '../../kernel/api/peer-labels-header';
import type { Gateway, ProbeResult } from './types';

export interface TlsMaterial {
  /** PEM of the fabric CA. */
  readonly ca: string;
  /** PEM of our peer certificate and key. */
  readonly cert: string;
  readonly key: string;
}

/** Sends heartbeats. The monitor owns its prober: it calls `forget` and `close` as peers go. */
export interface Prober {
  /** Probes one gateway of `peer`; resolves with the result, rejects only with ProbeAbortedError. */
  probe(peer: string, gateway: Gateway, signal: AbortSignal): Promise<ProbeResult>;
  /** Drops what is kept for a gateway (its connection) once it is no longer watched. */
  forget?(peer: string, gateway: Gateway): void;
  /** New TLS material (certificate rotation). */
  setTls?(tls: TlsMaterial): void;
  close?(): void;
}

/** The identity check: the first DNS SAN is the peer name (DESIGN.md section 5). */
export function checkPeerIdentity(
  peer: string,
  cert: Pick<PeerCertificate, 'subjectaltname'>,
): Error | undefined {
  const first = firstDnsSan(cert.subjectaltname);
  return first === peer ? undefined : new PeerIdentityError(peer, first);
}

const MAX_DRAINED_BODY_BYTES = 64 * 1024;

export interface HttpsProberOptions {
  readonly tls: TlsMaterial;
  /** Time allowed for connect, handshake and the whole response. @default 3000 */
  readonly timeoutMs?: number;
}

export class HttpsProber implements Prober {
  private tls: TlsMaterial;
  private readonly timeoutMs: number;
  private readonly agents = new Map<string, https.Agent>();
  private closed = false;

  constructor(options: HttpsProberOptions) {
    this.tls = options.tls;
    this.timeoutMs = options.timeoutMs ?? 3000;
  }

  /** New certificates: existing connections are dropped so the next probes handshake again. */
  setTls(tls: TlsMaterial): void {
    this.tls = tls;
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /** Drops the connection kept for a gateway (the peer or gateway was removed). */
  forget(peer: string, gateway: Gateway): void {
    const key = agentKey(peer, gateway);
    this.agents.get(key)?.destroy();
    this.agents.delete(key);
  }

  close(): void {
    this.closed = true;
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agentFor(peer: string, gateway: Gateway): https.Agent {
    const key = agentKey(peer, gateway);
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = new https.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1, scheduling: 'lifo' });
      this.agents.set(key, agent);
    }
    return agent;
  }

  async probe(peer: string, gateway: Gateway, signal: AbortSignal): Promise<ProbeResult> {
    const first = await this.attempt(peer, gateway, signal);
    if (!first.staleConnection) return first.result;
    // The gateway had closed our idle kept-alive connection (e.g. its keep-alive timeout passed
    // while we waited 10 s): not a failure of the gateway, so try once more on a new connection.
    return (await this.attempt(peer, gateway, signal)).result;
  }

  private attempt(
    peer: string,
    gateway: Gateway,
    signal: AbortSignal,
  ): Promise<{ result: ProbeResult; staleConnection: boolean }> {
    if (this.closed || signal.aborted) return Promise.reject(new ProbeAbortedError());
    const agent = this.agentFor(peer, gateway);
    return new Promise((resolve, reject) => {
      let settled = false;
      const started = performance.now();
      // Either a result (success or HTTP-status failure) or an error to classify. Errors from Node
      // core are not `instanceof Error` under every runtime (jest's vm realms), so no such test here.
      const finish = (
        outcome: { result: ProbeResult } | { error: unknown },
        request: { destroy(): void },
      ) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if ('error' in outcome && outcome.error instanceof ProbeAbortedError) {
          request.destroy();
          reject(outcome.error);
          return;
        }
        const result =
          'result' in outcome
            ? outcome.result
            : freshHandshake && !answered && isReset(outcome.error)
              ? refusedAfterHandshake(gateway)
              : classifyProbeError(outcome.error, gateway);
        if (!result.ok) {
          request.destroy();
          // A broken or half-open connection must not be reused for the next heartbeat.
          this.forget(peer, gateway);
        }
        const staleConnection = reused && !answered && 'error' in outcome && isReset(outcome.error);
        resolve({ result, staleConnection });
      };
      const tls = this.tls;
      const options: https.RequestOptions & { ALPNProtocols: string[] } = {
        host: gateway.host,
        port: gateway.port,
        method: 'GET',
        path: '/healthz',
        agent,
        servername: peer,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        rejectUnauthorized: true,
        ALPNProtocols: ['http/1.1'],
        checkServerIdentity: (_host: string, cert: PeerCertificate) => checkPeerIdentity(peer, cert),
        headers: { accept: '*/*' },
      };
      const req = https.request(options);
      // With TLS 1.3 a server that rejects our certificate does so after our side of the handshake
      // completed: we then see a reset instead of an alert. Remember whether this request opened
      // a new connection so such a reset can be reported as the TLS problem it most likely is.
      let freshHandshake = false;
      let reused = false;
      let answered = false;
      req.on('socket', (socket) => {
        reused = (socket as TLSSocket).authorized === true; // kept alive: its handshake is long done
        if (!reused) socket.once('secureConnect', () => (freshHandshake = true));
      });
      const timer = setTimeout(
        () => finish({ error: new ProbeTimeoutError(this.timeoutMs) }, req),
        this.timeoutMs,
      );
      const onAbort = () => finish({ error: new ProbeAbortedError() }, req);
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => finish({ error }, req));
      req.on('response', (res) => {
        answered = true;
        const rttMs = performance.now() - started;
        const status = res.statusCode ?? 0;
        const header = res.headers[PEER_LABELS_HEADER.toLowerCase()];
        // Drain a bounded body so the connection can carry the next heartbeat.
        let drained = 0;
        res.on('data', (chunk: Buffer) => {
          drained += chunk.length;
          if (drained > MAX_DRAINED_BODY_BYTES)
            finish({ error: new Error('the response body is too large') }, req);
        });
        res.on('error', (error) => finish({ error }, req));
        res.on('end', () => {
          if (status !== 200) {
            finish({ result: classifyHttpStatus(status, gateway) }, req);
            return;
          }
          const parsed = parsePeerLabelsHeader(header);
          finish(
            {
              result: {
                ok: true,
                rttMs,
                labels: parsed.labels,
                ...(parsed.error ? { labelsError: parsed.error } : {}),
              },
            },
            req,
          );
        });
      });
      req.end();
    });
  }
}

function isReset(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

function refusedAfterHandshake(gateway: Gateway): ProbeResult {
  return {
    ok: false,
    reason: 'TLSFailure',
    message: `TLS handshake with ${formatAddress(gateway)} failed: the gateway closed the connection right after the TLS handshake without answering (it may not accept our certificate)`,
  };
}

function agentKey(peer: string, gateway: Gateway): string {
  return `${peer}\u0000${gateway.host}\u0000${gateway.port}`;
}
