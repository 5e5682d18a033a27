/**
 * The data plane: the gateway port, one listener per Import, the tunnels between them. Takes its
 * whole configuration from snapshots (applySnapshot), decides every connection in-process.
 */
import type { Registry } from 'prom-client';
import { snapshotSupersedes, type GatewaySnapshot } from '../kernel/api/snapshot';
import { rootLogger, type Logger } from '../kernel/log';
import { LoadBalancer } from '../kernel/lb/order';
import { BufferPressure, PRESSURE_STREAM_WINDOW } from './buffer-pressure';
import { ClientTls } from './client/client-tls';
import { TunnelConnector } from './client/connector';
import { H2SessionPool } from './client/session-pool';
import { compileSnapshot, namespacedKey, tlsChanged, type CompiledConfig } from './config';
import { serveImportClient, type EgressContext } from './egress/egress';
import { ImportListener } from './egress/import-listener';
import { DataPlaneError, DataPlaneErrorCode, errorCode } from './errors';
import type { GatewayContext } from './gateway/context';
import { GatewayServer } from './gateway/server';
import { DEFAULT_LIMITS, type DataPlaneLimits } from './limits';
import { LogLimiter } from './log-limiter';
import { DataPlaneMetrics } from './metrics';
import { TokenReplayCache } from './token-replay';
import { TunnelTracker } from './tunnels';

/** How often the bytes held in buffers are sampled against the budget. */
const BUFFER_SAMPLE_INTERVAL_MS = 250;

export interface DataPlaneOptions {
  /** Address of the gateway port. @default all interfaces */
  readonly gatewayHost?: string;
  /** 0 = ephemeral (tests). */
  readonly gatewayPort: number;
  readonly metricsRegistry?: Registry;
  readonly logger?: Logger;
  /** Overrides of protective limits and timeouts. */
  readonly limits?: Partial<DataPlaneLimits>;
  /** Always use the compatible HTTP/1.1 protocol towards remote gateways (interop checks, tests). */
  readonly forceHttp1?: boolean;
  /** Offer h2 on the gateway port (off: answer like an upstream gateway, http/1.1 only). @default true */
  readonly offerH2?: boolean;
  /** Clock for tokens (tests). */
  readonly now?: () => number;
}

export interface ImportAddress {
  readonly host: string;
  readonly port: number;
}

export class DataPlane {
  readonly metrics: DataPlaneMetrics;
  readonly limits: DataPlaneLimits;
  private readonly logger: Logger;
  private readonly gateway: GatewayServer;
  private readonly clientTls = new ClientTls();
  private readonly pool: H2SessionPool;
  private readonly connector: TunnelConnector;
  private readonly lb = new LoadBalancer();
  private readonly egressTunnels: TunnelTracker;
  private readonly ingressTunnels: TunnelTracker;
  private readonly listeners = new Map<string, ImportListener>();
  private current: CompiledConfig | undefined;
  private applying: Promise<void> = Promise.resolve();
  private started = false;
  private closed = false;
  /** Set when remaining tunnels are reset (end of the grace period, destroy()). */
  private tunnelsAborted = false;
  private closing: Promise<void> | undefined;
  private address: { host: string; port: number } | undefined;
  private readonly pressure: BufferPressure;
  private pressureTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: DataPlaneOptions) {
    this.logger = (options.logger ?? rootLogger).child({ component: 'dataplane' });
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.metrics = new DataPlaneMetrics(options.metricsRegistry);
    const limits = (): DataPlaneLimits => this.limits;
    this.egressTunnels = new TunnelTracker('egress', limits, this.metrics, this.logger);
    this.ingressTunnels = new TunnelTracker('ingress', limits, this.metrics, this.logger);
    this.pool = new H2SessionPool(this.clientTls, this.limits, this.logger);
    this.connector = new TunnelConnector(
      this.clientTls,
      this.pool,
      () => ({ ...this.limits, forceHttp1: options.forceHttp1 }),
      this.logger,
    );
    const now = options.now ?? Date.now;
    const gatewayContext: GatewayContext = {
      config: () => this.current,
      limits: this.limits,
      tunnels: this.ingressTunnels,
      metrics: this.metrics,
      logger: this.logger,
      usedTokens: new TokenReplayCache(),
      refusalLog: new LogLimiter(),
      now,
    };
    this.gateway = new GatewayServer(gatewayContext, {
      host: options.gatewayHost,
      port: options.gatewayPort,
      offerH2: options.offerH2,
    });
    this.pressure = new BufferPressure(
      () => this.limits.bufferBudgetBytes,
      (under, held, budget) => this.onBufferPressure(under, held, budget),
    );
  }

  /** Samples the bytes tunnels hold; past the budget, every h2 session's peers send less. */
  private startBufferSampling(): void {
    const sample = (): void => {
      const held = this.egressTunnels.heldBytes() + this.ingressTunnels.heldBytes();
      this.metrics.bufferedBytes.set(held);
      this.pressure.observe(held);
    };
    this.pressureTimer = setInterval(sample, BUFFER_SAMPLE_INTERVAL_MS);
    this.pressureTimer.unref();
  }

  private onBufferPressure(under: boolean, held: number, budget: number): void {
    this.metrics.bufferPressure.set(under ? 1 : 0);
    const window = under ? PRESSURE_STREAM_WINDOW : undefined;
    this.gateway.setStreamWindow(window);
    this.pool.setStreamWindow(window);
    const fields = { heldMB: Math.round(held / 2 ** 20), budgetMB: Math.round(budget / 2 ** 20) };
    if (under)
      this.logger.warn(
        { ...fields, streamWindow: PRESSURE_STREAM_WINDOW },
        'buffered bytes over budget: peers asked to send less on every tunnel (readers slower than writers; if this load is expected, raise --limit bufferBudgetBytes)',
      );
    else this.logger.info(fields, 'buffered bytes back under budget: tunnel windows restored');
  }

  /** Opens the gateway port (TLS needs a snapshot before it can complete handshakes). */
  async start(): Promise<void> {
    if (this.closed) throw new DataPlaneError(DataPlaneErrorCode.closed, 'data plane is closed');
    if (this.started) return;
    this.started = true;
    const addr = await this.gateway.listen();
    this.address = { host: addr.address, port: addr.port };
    this.startBufferSampling();
    this.logger.info({ gateway: `${addr.address}:${addr.port}` }, 'gateway port listening');
  }

  get gatewayAddress(): { host: string; port: number } {
    if (!this.address) throw new DataPlaneError(DataPlaneErrorCode.notStarted, 'data plane not started');
    return this.address;
  }

  /** Ready: a snapshot is in effect and the gateway port listens. */
  get ready(): boolean {
    return this.current !== undefined && this.gateway.listening && !this.closed;
  }

  /** Version of the snapshot in effect. */
  get snapshotVersion(): number | undefined {
    return this.current?.version;
  }

  importAddress(namespace: string, name: string): { host: string; port: number } | undefined {
    const a = this.listeners.get(namespacedKey(namespace, name))?.address();
    return a ? { host: a.address, port: a.port } : undefined;
  }

  /** Tunnels open (or opening) right now, per direction. */
  get activeTunnels(): { egress: number; ingress: number } {
    return { egress: this.egressTunnels.active, ingress: this.ingressTunnels.active };
  }

  /** Pooled h2 sessions to remote gateways. */
  get pooledSessions(): number {
    return this.pool.size;
  }

  /**
   * Applies a snapshot: stale versions of the origin in effect are ignored (a snapshot of another
   * origin, a new control-plane instance, is taken whatever its version), an invalid one is
   * refused whole (the previous stays in effect). Import listeners that cannot listen are reported
   * in the rejection after the rest of the snapshot is in effect.
   */
  applySnapshot(snapshot: GatewaySnapshot): Promise<void> {
    const run = this.applying.then(() => this.apply(snapshot));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async apply(snapshot: GatewaySnapshot): Promise<void> {
    if (this.closed) throw new DataPlaneError(DataPlaneErrorCode.closed, 'data plane is closed');
    const previous = this.current?.snapshot;
    if (!snapshotSupersedes(snapshot, previous)) {
      this.logger.debug({ version: snapshot.version, current: previous?.version }, 'stale snapshot ignored');
      return;
    }
    let next: CompiledConfig;
    try {
      next = compileSnapshot(snapshot);
    } catch (err) {
      this.metrics.errors.inc({ code: errorCode(err) });
      this.logger.error({ version: snapshot.version, err: (err as Error).message }, 'snapshot refused');
      throw err;
    }
    if (previous && snapshot.origin !== previous.origin) {
      this.logger.info(
        { origin: snapshot.origin, version: snapshot.version, previousVersion: previous.version },
        'snapshot from a new control-plane instance',
      );
    }
    if (tlsChanged(this.current?.snapshot, snapshot)) {
      this.gateway.setTls(snapshot.tls);
      this.clientTls.update(snapshot.tls);
      if (this.current) {
        this.logger.info('certificates changed: new connections use the new ones');
        // Pooled sessions to remote gateways were authenticated under the old material: close them
        // gracefully (tunnels on them continue; new tunnels open new sessions). acquire() would not
        // reuse them anyway (older generation), this just does not wait for that.
        this.pool.retainOnly(new Set());
      }
    }
    for (const invalid of next.policy.invalid) {
      this.logger.warn(
        { policy: invalid.policy.name, namespace: invalid.policy.namespace, err: invalid.error },
        'invalid policy ignored',
      );
    }
    this.current = next;
    this.metrics.snapshotVersion.set(next.version);
    this.pool.retainOnly(
      new Set(
        snapshot.peers.flatMap((p) => p.gateways.map((g) => H2SessionPool.key(p.name, g.host, g.port))),
      ),
    );
    const failures = await this.reconcileListeners(next);
    this.logger.info(
      {
        version: next.version,
        imports: next.imports.size,
        exports: next.exports.size,
        peers: next.peers.size,
      },
      'snapshot applied',
    );
    if (failures.length > 0) {
      throw new DataPlaneError(DataPlaneErrorCode.listen, failures.map((f) => f.message).join('; '), {
        cause: failures[0],
      });
    }
  }

  private async reconcileListeners(config: CompiledConfig): Promise<Error[]> {
    for (const [key, listener] of this.listeners) {
      const next = config.imports.get(key);
      if (next && listener.sameAddress(next)) {
        listener.spec = next;
        continue;
      }
      this.listeners.delete(key);
      if (!next) this.lb.forget(key);
      // Stops accepting (and frees the port) at once; not awaited, since its callback waits for
      // the established tunnels, which continue.
      void listener.close();
      this.logger.info({ import: key }, next ? 'import listener moves' : 'import removed: listener closed');
    }
    const failures: Error[] = [];
    const egress: EgressContext = {
      config: () => this.current,
      closed: () => this.tunnelsAborted,
      lb: this.lb,
      connector: this.connector,
      tunnels: this.egressTunnels,
      metrics: this.metrics,
      logger: this.logger,
    };
    await Promise.all(
      [...config.imports].map(async ([key, spec]) => {
        if (this.listeners.has(key)) return;
        const listener = new ImportListener(spec, (socket) => {
          void serveImportClient(egress, socket, key).catch((err: unknown) => {
            this.metrics.errors.inc({ code: errorCode(err) });
            this.logger.error({ import: key, err: (err as Error).message }, 'import client failed');
            socket.destroy();
          });
        });
        try {
          const addr = await listener.listen();
          this.listeners.set(key, listener);
          this.logger.info({ import: key, listen: `${addr.address}:${addr.port}` }, 'import listener open');
        } catch (err) {
          this.metrics.errors.inc({ code: errorCode(err) });
          this.logger.error({ import: key, err: (err as Error).message }, 'import listener failed');
          failures.push(err as Error);
        }
      }),
    );
    return failures;
  }

  /**
   * Graceful shutdown: stop accepting (gateway port and import listeners), let tunnels drain for
   * `graceMs`, then reset what is left and close everything. Idempotent.
   */
  close(graceMs: number = this.limits.shutdownGraceMs): Promise<void> {
    if (!this.closing) this.closing = this.shutdown(graceMs);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.closed = true;
    clearInterval(this.pressureTimer);
    await this.applying;
    this.logger.info({ graceMs, tunnels: this.activeTunnels }, 'data plane closing');
    // Both stop accepting at once; their close callbacks wait for open connections, so they are
    // awaited only after the tunnels drained or were reset.
    const listenersClosed = Promise.all([...this.listeners.values()].map((l) => l.close()));
    this.listeners.clear();
    const gatewayClosed = this.gateway.close();
    this.pool.close();
    let timer: NodeJS.Timeout | undefined;
    const drained = Promise.all([this.egressTunnels.whenIdle(), this.ingressTunnels.whenIdle()]).then(
      () => true,
    );
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const clean = await Promise.race([drained, expired]);
    clearTimeout(timer);
    if (!clean) {
      this.logger.info({ tunnels: this.activeTunnels }, 'grace period over: resetting remaining tunnels');
      const reason = new DataPlaneError(DataPlaneErrorCode.closed, 'data plane shut down');
      this.tunnelsAborted = true;
      this.egressTunnels.abortAll(reason);
      this.ingressTunnels.abortAll(reason);
      // Resets complete within an event-loop turn or two; bounded in case a stream never closes.
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    }
    this.pool.destroy();
    this.gateway.destroy();
    await Promise.all([gatewayClosed, listenersClosed]);
    this.logger.info('data plane closed');
  }

  /** Forceful: resets every tunnel and closes every socket now. Idempotent. */
  destroy(err?: Error): void {
    if (err) this.logger.error({ err: err.message }, 'data plane destroyed');
    this.closed = true;
    clearInterval(this.pressureTimer);
    const reason = err ?? new DataPlaneError(DataPlaneErrorCode.closed, 'data plane destroyed');
    this.tunnelsAborted = true;
    this.egressTunnels.abortAll(reason);
    this.ingressTunnels.abortAll(reason);
    for (const listener of this.listeners.values()) void listener.close();
    this.listeners.clear();
    this.pool.destroy();
    this.gateway.destroy();
    this.closing ??= Promise.resolve();
  }
}
