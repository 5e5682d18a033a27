/**
 * The standalone gateway: control plane and data plane in one process, without Kubernetes. Its API
 * is a directory of ClusterLink YAML files (plus the certificates), watched for changes. Every
 * change becomes a new snapshot for the embedded DataPlane; an invalid object is reported (status,
 * log) and left out, never fatal. Peer reachability comes from heartbeats.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startAdminServer, type AdminServer } from '../../kernel/admin';
import { DataPlane, type DataPlaneLimits } from '../../dataplane';
import type { GatewaySnapshot, Labels } from '../../kernel/api/snapshot';
import { rootLogger, type Logger } from '../../kernel/log';
import { heartbeatPeerMonitor, type PeerMonitor, type PeerMonitorFactory } from '../peer-monitor';
import { PolicyEngine } from '../../kernel/policy/engine';
import {
  defaultCertificateFiles,
  loadPeerIdentity,
  type CertificateFiles,
  type PeerIdentity,
} from '../identity';
import { isConfigFile, loadConfigDirectory } from './load';
import { invalidText, type DirectoryConfig } from './objects';
import type { StatusReport } from './report';
import { buildStandaloneSnapshot } from './snapshot';
import { buildStatusReport } from './status';
import { DirectoryWatcher } from './watch';
import { ADMIN_PORT, GATEWAY_CONTAINER_PORT } from '../../kernel/api/conventions';

export interface StandaloneGatewayOptions {
  /** The configuration directory. */
  readonly configDir: string;
  /** Certificate files; relative paths are resolved against configDir. @default ca.pem, cert.pem, key.pem in configDir */
  readonly certificates?: Partial<CertificateFiles>;
  /** Address Import listeners bind to. @default 127.0.0.1 */
  readonly listenHost?: string;
  /** Address of the gateway port. @default all interfaces */
  readonly gatewayHost?: string;
  /** @default 8443; 0 = ephemeral */
  readonly gatewayPort?: number;
  /** Address of the admin port (status, metrics). @default 127.0.0.1 */
  readonly adminHost?: string;
  /** @default 9090; 0 = ephemeral */
  readonly adminPort?: number;
  /** This peer's labels, sent to other peers in heartbeat responses. */
  readonly peerLabels?: Labels;
  readonly logger?: Logger;
  readonly registry?: Registry;
  /** Directory watching. @default debounce 150 ms, rescan 2 s */
  readonly watch?: { readonly debounceMs?: number; readonly rescanMs?: number };
  /** Delay before re-applying a snapshot that was not fully applied (an Import port in use). @default 5000 */
  readonly retryMs?: number;
  /** Heartbeats; tests and the demo shorten the intervals. */
  readonly health?: PeerMonitorFactory;
  /** Overrides of the data plane's protective limits. */
  readonly limits?: Partial<DataPlaneLimits>;
}

export interface ReloadEvent {
  readonly version: number;
  readonly config: DirectoryConfig;
}

export class StandaloneGateway extends EventEmitter {
  private readonly logger: Logger;
  private readonly registry: Registry;
  private readonly files: CertificateFiles;
  private readonly tokenKey = randomBytes(32).toString('base64');
  private readonly dataPlane: DataPlane;
  private readonly peerHealth: PeerMonitor;
  private watcher: DirectoryWatcher | undefined;
  private admin: AdminServer | undefined;
  private identity: PeerIdentity | undefined;
  private config: DirectoryConfig = { peers: [], exports: [], imports: [], policies: [], invalid: [] };
  private digest = '';
  private version = 0;
  private errors: string[] = [];
  private applyError: string | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: StandaloneGatewayOptions) {
    super();
    this.logger = (options.logger ?? rootLogger).child({ component: 'standalone' });
    this.registry = options.registry ?? new Registry();
    const defaults = defaultCertificateFiles(options.configDir);
    const resolve = (f: string | undefined, d: string) => (f ? path.resolve(options.configDir, f) : d);
    this.files = {
      ca: resolve(options.certificates?.ca, defaults.ca),
      cert: resolve(options.certificates?.cert, defaults.cert),
      key: resolve(options.certificates?.key, defaults.key),
    };
    this.dataPlane = new DataPlane({
      gatewayHost: options.gatewayHost,
      gatewayPort: options.gatewayPort ?? GATEWAY_CONTAINER_PORT,
      metricsRegistry: this.registry,
      logger: options.logger,
      limits: options.limits,
    });
    this.peerHealth = (options.health ?? heartbeatPeerMonitor())({
      logger: this.logger,
      onChange: () => this.publish('peer health changed'),
    });
  }

  /**
   * Starts serving. Fails (with the file named) only when the certificates are unusable at start:
   * without an identity the gateway cannot serve anything. Later problems are reported, not fatal.
   */
  static async start(options: StandaloneGatewayOptions): Promise<StandaloneGateway> {
    const gateway = new StandaloneGateway(options);
    try {
      await gateway.startInternal();
    } catch (err) {
      await gateway.close(0);
      throw err;
    }
    return gateway;
  }

  private async startInternal(): Promise<void> {
    this.identity = await loadPeerIdentity(this.files);
    if (!this.options.registry) collectDefaultMetrics({ register: this.registry });
    await this.dataPlane.start();
    this.admin = await startAdminServer({
      host: this.options.adminHost ?? '127.0.0.1',
      port: this.options.adminPort ?? ADMIN_PORT,
      registry: this.registry,
      isReady: () => this.dataPlane.ready,
      // Read by `clusterlink status --gateway URL`.
      routes: {
        '/status': () => ({
          contentType: 'application/json',
          body: JSON.stringify(this.status(), null, 2) + '\n',
        }),
      },
    });
    await this.reload();
    const certNames = new Set(Object.values(this.files).map((f) => path.basename(f)));
    this.watcher = new DirectoryWatcher(this.options.configDir, () => void this.reload(), {
      ...this.options.watch,
      filter: (name) => isConfigFile(name) || certNames.has(name),
      onError: (err) =>
        this.logger.warn(
          { err: err.message, dir: this.options.configDir },
          'watching the configuration directory',
        ),
    });
    await this.watcher.start();
  }

  get peerName(): string {
    if (!this.identity) throw new Error('gateway not started');
    return this.identity.peerName;
  }

  get gatewayAddress(): { host: string; port: number } {
    return this.dataPlane.gatewayAddress;
  }

  get adminAddress(): { host: string; port: number } {
    if (!this.admin) throw new Error('gateway not started');
    return this.admin.address;
  }

  importAddress(namespace: string, name: string): { host: string; port: number } | undefined {
    return this.dataPlane.importAddress(namespace, name);
  }

  get snapshotVersion(): number {
    return this.version;
  }

  /** Re-reads the directory (and certificates) and applies what changed. Serialized; never throws. */
  reload(): Promise<void> {
    this.reloading = this.reloading
      .then(() => this.reloadOnce())
      .catch((err: unknown) => {
        this.logger.error({ err: (err as Error).message }, 'reload failed');
      });
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    if (this.closed) return;
    const errors: string[] = [];
    let identityChanged = false;
    try {
      const identity = await loadPeerIdentity(this.files);
      identityChanged =
        identity.tls.cert !== this.identity?.tls.cert ||
        identity.tls.ca !== this.identity?.tls.ca ||
        identity.tls.key !== this.identity?.tls.key;
      if (this.identity && identity.peerName !== this.identity.peerName) {
        errors.push(
          `${this.files.cert}: names peer "${identity.peerName}" but this gateway is "${this.identity.peerName}": restart to change identity; keeping the old certificate`,
        );
        identityChanged = false;
      } else {
        this.identity = identity;
      }
    } catch (err) {
      errors.push(`${(err as Error).message}; keeping the previous certificates`);
    }
    let loaded;
    try {
      const reserved = [this.dataPlane.gatewayAddress.port, this.admin?.address.port ?? 0];
      loaded = await loadConfigDirectory(this.options.configDir, { reservedPorts: reserved });
    } catch (err) {
      errors.push(
        `${this.options.configDir}: cannot read the configuration directory (${(err as Error).message}); keeping the previous configuration`,
      );
    }
    const changed = identityChanged || (loaded !== undefined && loaded.digest !== this.digest);
    this.errors = errors;
    for (const e of errors) this.logger.error({ dir: this.options.configDir }, e);
    if (!changed) return;
    if (loaded) {
      this.digest = loaded.digest;
      this.config = loaded.config;
      for (const invalid of loaded.config.invalid) {
        this.logger.warn(
          { file: invalid.origin.file, index: invalid.origin.index, kind: invalid.kind, name: invalid.name },
          `invalid object skipped: ${invalidText(invalid)}`,
        );
      }
      this.peerHealth.setPeers(this.config.peers, this.identity!.tls);
    } else if (identityChanged) {
      this.peerHealth.setPeers(this.config.peers, this.identity!.tls);
    }
    await this.publish('configuration changed');
  }

  private snapshot(): GatewaySnapshot {
    const identity = this.identity!;
    // No origin: the in-process data plane has no other source, so this counter alone orders it.
    return buildStandaloneSnapshot({
      version: ++this.version,
      localPeer: { name: identity.peerName, labels: this.options.peerLabels ?? {} },
      tls: identity.tls,
      tokenKey: this.tokenKey,
      config: this.config,
      listenHost: this.options.listenHost ?? '127.0.0.1',
      peerView: (name) => {
        const h = this.peerHealth.verdict(name);
        // Not yet probed counts as reachable: sources are tried before being given up on.
        return h ? { reachable: h.verdict === 'unknown' || h.reachable, labels: h.labels } : undefined;
      },
    });
  }

  private async publish(why: string): Promise<void> {
    if (this.closed || !this.identity) return;
    const snapshot = this.snapshot();
    try {
      await this.dataPlane.applySnapshot(snapshot);
      this.applyError = undefined;
    } catch (err) {
      this.applyError = (err as Error).message;
      this.logger.error({ version: snapshot.version, err: this.applyError }, 'snapshot not fully applied');
      // Typically an Import port taken by another program: try again until it is free.
      if (!this.retryTimer && !this.closed) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.publish('retrying what could not be applied');
        }, this.options.retryMs ?? 5000);
        this.retryTimer.unref();
      }
    }
    this.logger.info({ version: snapshot.version, why }, 'snapshot published');
    this.emit('reload', { version: snapshot.version, config: this.config } satisfies ReloadEvent);
  }

  status(): StatusReport {
    const engine = new PolicyEngine(this.config.policies.map((p) => p.policy));
    return buildStatusReport({
      peer: this.identity
        ? { name: this.identity.peerName, labels: this.options.peerLabels ?? {} }
        : undefined,
      gateway: this.dataPlaneAddress(),
      version: this.version,
      config: this.config,
      health: (name) => this.peerHealth.verdict(name),
      importAddress: (ns, name) => this.dataPlane.importAddress(ns, name),
      invalidPolicies: engine.invalid,
      errors: [...this.errors, ...(this.applyError ? [this.applyError] : [])],
    });
  }

  private dataPlaneAddress(): string | undefined {
    try {
      const a = this.dataPlane.gatewayAddress;
      return `${a.host}:${a.port}`;
    } catch {
      return undefined;
    }
  }

  /** Stops watching, heartbeats and the admin port, then closes the data plane gracefully. Idempotent. */
  async close(graceMs?: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watcher?.close();
    await this.reloading;
    await Promise.all([this.peerHealth.close(), this.dataPlane.close(graceMs), this.admin?.close()]);
  }
}
