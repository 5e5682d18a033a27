/**
 * Serves one client connection on an import listener: plan (attributes, source order, egress
 * decisions), open the tunnel at the first source that is allowed and answers, relay. If no source
 * works the client connection is reset.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../kernel/log';
import type { LoadBalancer } from '../../kernel/lb/order';
import type { CompiledConfig } from '../config';
import { errorCode } from '../errors';
import type { DataPlaneMetrics } from '../metrics';
import { resetStream } from '../relay';
import type { TunnelTracker } from '../tunnels';
import { EARLY_BYTES_LIMIT, tuneSocket } from '../tuning';
import type { TunnelConnector } from '../client/connector';
import { EarlyBytes } from './early-bytes';
import { planEgress } from './egress-decision';

export interface EgressContext {
  config(): CompiledConfig | undefined;
  /** True once remaining tunnels were reset (shutdown): tunnels that finish opening afterwards are too. */
  closed(): boolean;
  readonly lb: LoadBalancer;
  readonly connector: TunnelConnector;
  readonly tunnels: TunnelTracker;
  readonly metrics: DataPlaneMetrics;
  readonly logger: Logger;
}

export async function serveImportClient(
  ctx: EgressContext,
  socket: Socket,
  importKey: string,
): Promise<void> {
  const started = performance.now();
  const config = ctx.config();
  const imp = config?.imports.get(importKey);
  if (!config || !imp) {
    resetStream(socket);
    return;
  }
  tuneSocket(socket);
  const early = new EarlyBytes(socket, EARLY_BYTES_LIMIT);
  const plan = planEgress(config, ctx.lb, imp, socket.remoteAddress);
  // Plain fields rather than a child logger: nothing extra stays allocated for the tunnel's lifetime.
  const log = ctx.logger;
  const where = { side: 'egress', import: importKey, client: socket.remoteAddress };
  for (const { source, peer, decision } of plan.candidates) {
    const exportName = `${source.exportNamespace}/${source.exportName}`;
    if (!peer || !decision) {
      ctx.metrics.errors.inc({ code: 'CL_ERR_NO_SUCH_PEER' });
      log.warn({ ...where, peer: source.peer, export: exportName }, 'source names an unknown peer: skipped');
      continue;
    }
    ctx.metrics.decisions.inc({ side: 'egress', result: decision.action, reason: decision.tier });
    log.info(
      {
        ...where,
        peer: peer.name,
        export: exportName,
        decision: decision.action,
        tier: decision.tier,
        policy: decision.policy,
        reason: decision.reason,
      },
      'authorization decision',
    );
    if (decision.action !== 'allow') continue;
    const slot = ctx.tunnels.tryAcquire(peer.name);
    if (!slot) {
      ctx.metrics.errors.inc({ code: 'CL_ERR_TOO_MANY_TUNNELS' });
      log.warn({ ...where, peer: peer.name }, 'too many tunnels: source skipped');
      continue;
    }
    let tunnel;
    try {
      tunnel = await ctx.connector.open(
        peer,
        { name: source.exportName, namespace: source.exportNamespace },
        plan.sourceAttributes,
        early,
      );
    } catch (err) {
      slot.release();
      ctx.metrics.errors.inc({ code: errorCode(err) });
      log.info(
        { ...where, peer: peer.name, export: exportName, code: errorCode(err), err: (err as Error).message },
        'source failed: trying the next',
      );
      continue;
    }
    if (socket.destroyed || ctx.closed()) {
      early.discard();
      slot.release();
      resetStream(tunnel.stream);
      resetStream(socket);
      return;
    }
    ctx.metrics.setupSeconds.observe({ protocol: tunnel.protocol }, (performance.now() - started) / 1000);
    const sentEarly = early.handOver(tunnel.stream);
    await slot.run(importKey, socket, tunnel.stream, sentEarly);
    return;
  }
  early.discard();
  ctx.metrics.errors.inc({ code: 'CL_ERR_NO_SOURCE' });
  log.info(
    { ...where, sources: plan.candidates.length },
    'no source allowed and reachable: client connection reset',
  );
  resetStream(socket);
}
