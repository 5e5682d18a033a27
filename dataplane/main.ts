/**
 * The data-plane process (Kubernetes mode; the standalone gateway embeds the same pieces): a
 * DataPlane fed by a SnapshotSource, and the admin server (/metrics, /readyz, /healthz).
 * close() stops accepting, drains for the grace period, then closes (the CLI calls it on SIGTERM/SIGINT).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ADMIN_PORT, GATEWAY_CONTAINER_PORT } from '../kernel/api/conventions';
import type { SnapshotSource } from '../kernel/api/snapshot';
import { rootLogger, type Logger } from '../kernel/log';
import { startAdminServer, type AdminServer } from '../kernel/admin';
import { DataPlane } from './dataplane';
import type { DataPlaneLimits } from './limits';

export interface RunDataPlaneOptions {
  readonly source: SnapshotSource;
  readonly gatewayHost?: string;
  /** @default 8443 (the Service maps 443 to it) */
  readonly gatewayPort?: number;
  readonly adminHost?: string;
  /** @default 9090; 0 = ephemeral */
  readonly adminPort?: number;
  readonly logger?: Logger;
  readonly registry?: Registry;
  readonly limits?: Partial<DataPlaneLimits>;
}

export interface DataPlaneProcess {
  readonly dataPlane: DataPlane;
  readonly admin: AdminServer;
  /** Graceful stop (idempotent). */
  close(graceMs?: number): Promise<void>;
}

export async function runDataPlane(options: RunDataPlaneOptions): Promise<DataPlaneProcess> {
  const logger = (options.logger ?? rootLogger).child({ component: 'dataplane-process' });
  const registry = options.registry ?? new Registry();
  if (!options.registry) collectDefaultMetrics({ register: registry });
  const dataPlane = new DataPlane({
    gatewayHost: options.gatewayHost,
    gatewayPort: options.gatewayPort ?? GATEWAY_CONTAINER_PORT,
    metricsRegistry: registry,
    logger: options.logger,
    limits: options.limits,
  });
  await dataPlane.start();
  const admin = await startAdminServer({
    registry,
    host: options.adminHost,
    port: options.adminPort ?? ADMIN_PORT,
    isReady: () => dataPlane.ready,
  });
  const unsubscribe = options.source.subscribe((snapshot) => {
    dataPlane.applySnapshot(snapshot).catch((err: unknown) => {
      logger.error({ version: snapshot.version, err: (err as Error).message }, 'snapshot not fully applied');
    });
  });
  let closing: Promise<void> | undefined;
  const close = (graceMs?: number): Promise<void> => {
    closing ??= (async () => {
      unsubscribe();
      await dataPlane.close(graceMs);
      await admin.close();
    })();
    return closing;
  };
  logger.info({ gateway: dataPlane.gatewayAddress, admin: admin.address }, 'data plane process running');
  return { dataPlane, admin, close };
}
