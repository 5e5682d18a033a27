/**
 * Protocol-independent handling of gateway requests: the same functions serve HTTP/1.1 and HTTP/2,
 * and return the status, headers and body to send (or drive a tunnel through a TunnelResponder).
 */
import type { Duplex } from 'node:stream';
import { PEER_LABELS_HEADER } from '../../kernel/api/labels';
import type { SnapshotExport } from '../../kernel/api/snapshot';
import type { Decision } from '../../kernel/policy/engine';
import type { CompiledConfig } from '../config';
import {
  BadRequestError,
  BadTokenError,
  DataPlaneError,
  DataPlaneErrorCode,
  errorCode,
  httpStatusFor,
  PolicyDeniedError,
  TooManyTunnelsError,
} from '../errors';
import {
  ACCESS_TOKEN_HEADER,
  bearerToken,
  encodeAttributesHeader,
  ERROR_CODE_HEADER,
  parseAuthorizationBody,
  SAME_CONNECTION_HEADER,
  type AuthorizationRequest,
} from '../protocol';
import { issueToken, verifyToken, type TokenClaims } from '../token';
import { connectToExport } from './export-target';
import type { GatewayContext } from './context';
import { decideIngress, findExport } from './ingress-decision';

export interface SimpleResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function errorResponse(err: unknown): SimpleResponse {
  const code = errorCode(err);
  const message = err instanceof DataPlaneError ? err.message : 'internal error';
  return {
    status: httpStatusFor(code),
    headers: { [ERROR_CODE_HEADER]: code, 'content-type': 'text/plain' },
    body: message + '\n',
  };
}

function notReady(): DataPlaneError {
  return new DataPlaneError(DataPlaneErrorCode.closed, 'gateway has no configuration yet');
}

export function handleHealthz(ctx: GatewayContext): SimpleResponse {
  const config = ctx.config();
  if (!config) return errorResponse(notReady());
  return {
    status: 200,
    headers: { [PEER_LABELS_HEADER]: encodeAttributesHeader(config.snapshot.localPeer.labels ?? {}) },
    body: '',
  };
}

/** Reason label of a decision for metrics (bounded set). */
function decisionReason(decision: Decision): string {
  return decision.tier;
}

function logDecision(
  ctx: GatewayContext,
  peer: string,
  exp: SnapshotExport,
  decision: Decision,
  via: string,
): void {
  ctx.metrics.decisions.inc({ side: 'ingress', result: decision.action, reason: decisionReason(decision) });
  const fields = {
    side: 'ingress',
    peer,
    export: `${exp.namespace}/${exp.name}`,
    decision: decision.action,
    tier: decision.tier,
    policy: decision.policy,
    reason: decision.reason,
    via,
  };
  // Allowed connections are logged one by one by design; denials are refusals like any other.
  if (decision.action === 'allow') ctx.logger.info(fields, 'authorization decision');
  else logRefusal(ctx, peer, DataPlaneErrorCode.policyDenied, fields, 'authorization decision');
}

/**
 * Logs a refusal unless this peer was refused with this code too often lately; the next line that
 * gets through says how many were suppressed. Metrics are counted by the callers, every time.
 */
function logRefusal(ctx: GatewayContext, peer: string, code: string, fields: object, message: string): void {
  const admitted = ctx.refusalLog.admit(`${peer} ${code}`, ctx.now());
  if (!admitted) return;
  ctx.logger.info(admitted.suppressed > 0 ? { ...fields, suppressed: admitted.suppressed } : fields, message);
}

function countRefusal(ctx: GatewayContext, err: unknown, peer: string, what: string): void {
  const code = errorCode(err);
  ctx.metrics.errors.inc({ code });
  if (code !== DataPlaneErrorCode.policyDenied) {
    ctx.metrics.decisions.inc({ side: 'ingress', result: 'deny', reason: code });
    const fields = { side: 'ingress', peer, code, err: (err as Error).message, what };
    logRefusal(ctx, peer, code, fields, 'request refused');
  }
}

/** Decides an authorization request (either protocol); returns the export or throws. */
function authorize(
  ctx: GatewayContext,
  config: CompiledConfig,
  peer: string,
  request: AuthorizationRequest,
  via: string,
): SnapshotExport {
  const { export: exp, decision } = decideIngress(config, peer, request);
  logDecision(ctx, peer, exp, decision, via);
  if (decision.action !== 'allow')
    throw new PolicyDeniedError(`denied by ${config.localPeer}: ${decision.reason}`);
  return exp;
}

/** POST /authz (compatible protocol): decide, then hand out a short-lived token bound to export and peer. */
export function handleAuthz(ctx: GatewayContext, peer: string | undefined, body: Buffer): SimpleResponse {
  try {
    const config = ctx.config();
    if (!config) throw notReady();
    if (!peer) throw new BadRequestError('client certificate has no DNS name');
    const request = parseAuthorizationBody(body);
    const exp = authorize(ctx, config, peer, request, 'authz');
    const { token } = issueToken(
      config.tokenKey,
      { exportName: exp.name, exportNamespace: exp.namespace, peer },
      ctx.now(),
    );
    // The header is what DESIGN.md section 5 specifies; the JSON body serves upstream releases that read it.
    return {
      status: 200,
      headers: {
        [ACCESS_TOKEN_HEADER]: token,
        [SAME_CONNECTION_HEADER]: '1',
        'content-type': 'application/json; charset=utf-8',
      },
      body: JSON.stringify({ AccessToken: token }),
    };
  } catch (err) {
    countRefusal(ctx, err, peer ?? '', 'authz');
    return errorResponse(err);
  }
}

/** How a tunnel request is answered on its protocol. */
export interface TunnelResponder {
  /** The byte stream of the tunnel once accepted (h1: the socket; h2: the stream). */
  readonly stream: Duplex;
  accept(): void;
  refuse(response: SimpleResponse): void;
}

/** Resolves the export a tunnel request names: by token (compatible) or by fast-path headers. */
export type TunnelTarget =
  { kind: 'token'; authorization: unknown } | { kind: 'fast'; request: AuthorizationRequest };

function resolveTarget(
  ctx: GatewayContext,
  config: CompiledConfig,
  peer: string,
  target: TunnelTarget,
): SnapshotExport {
  if (target.kind === 'fast') return authorize(ctx, config, peer, target.request, 'fast-path');
  const token = bearerToken(target.authorization);
  if (!token) throw new BadRequestError('CONNECT needs authorization: Bearer <token>');
  const now = ctx.now();
  const claims = verifyToken(config.tokenKey, token, peer, now);
  const exp = findExport(config, { name: claims.exportName, namespace: claims.exportNamespace });
  // Spent once it names an export that exists: from here on it leads to a tunnel (or to a refusal
  // of the tunnel itself), while a token for a removed export stays answered with 404.
  spendToken(ctx, claims, now);
  return exp;
}

/** Each token opens at most one tunnel per gateway process. */
function spendToken(ctx: GatewayContext, claims: TokenClaims, now: number): void {
  const use = ctx.usedTokens.use(claims.nonce, claims.expiresAt, now);
  if (use === 'replayed') throw new BadTokenError('token already used');
  // The memory of spent tokens is full (a flood of tokens within one token lifetime): refused as
  // overload, so the peer's client tries another replica or a new token later.
  if (use === 'full') throw new TooManyTunnelsError('too many tokens in use at this gateway');
}

/**
 * Serves one tunnel request: authorize, take a tunnel slot, connect to the export target, accept,
 * relay. Every refusal answers with its status; nothing throws.
 */
export async function serveTunnel(
  ctx: GatewayContext,
  peer: string | undefined,
  target: TunnelTarget,
  responder: TunnelResponder,
): Promise<void> {
  let exp: SnapshotExport;
  const config = ctx.config();
  try {
    if (!config) throw notReady();
    if (!peer) throw new BadRequestError('client certificate has no DNS name');
    exp = resolveTarget(ctx, config, peer, target);
  } catch (err) {
    countRefusal(ctx, err, peer ?? '', 'tunnel');
    responder.refuse(errorResponse(err));
    return;
  }
  const slot = ctx.tunnels.tryAcquire(peer);
  if (!slot) {
    const err = new TooManyTunnelsError(`too many tunnels (peer ${peer})`);
    countRefusal(ctx, err, peer, 'tunnel');
    responder.refuse(errorResponse(err));
    return;
  }
  let upstream;
  try {
    upstream = await connectToExport(exp, ctx.limits.connectTimeoutMs);
  } catch (err) {
    slot.release();
    countRefusal(ctx, err, peer, 'tunnel');
    responder.refuse(errorResponse(err));
    return;
  }
  if (responder.stream.destroyed) {
    slot.release();
    upstream.destroy();
    return;
  }
  responder.accept();
  await slot.run(`${exp.namespace}/${exp.name}`, responder.stream, upstream);
}
