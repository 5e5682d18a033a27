/**
 * The Kubernetes control plane process: informers over our custom resources, Services,
 * EndpointSlices and Pods; leader-elected reconcilers (only the leader writes); a versioned
 * desired-state snapshot served to this site's data-plane replicas by every replica; peer
 * heartbeats; and the admin server (/healthz, /readyz, /metrics).
 */
import { hostname } from 'node:os';
import { randomBytes, X509Certificate } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { startAdminServer, type AdminServer } from '../kernel/admin';
import type { GatewaySnapshot, SnapshotSource, SnapshotTls } from '../kernel/api/snapshot';
import { sleep } from './k8s/backoff';
import { KubeClient } from './k8s/client';
import { EventRecorder } from './k8s/events';
import type { InformerEvent, InformerHandler } from './k8s/informer';
import type { KubeObject } from './k8s/object';
import { WorkQueue, type ReconcileResult } from './k8s/workqueue';
import { LeaderElector } from './leader/elector';
import { ClusterLinkError } from '../kernel/errors';
import { createLogger, logLevelFromEnvironment, rootLogger, type Logger } from '../kernel/log';
import { ControlPlaneMetrics } from './metrics';
import { heartbeatPeerMonitor, type PeerMonitor, type PeerMonitorFactory } from './peer-monitor';
import { ClusterCache } from './reconcile/cache';
import { ExportReconciler } from './reconcile/export';
import { ImportReconciler } from './reconcile/import';
import { PeerReconciler } from './reconcile/peer';
import { policyObjects, PolicyReporter } from './reconcile/policy';
import type { PortRange } from './reconcile/ports';
import { loadTokenKey } from './reconcile/token-key';
import { buildSnapshotContent } from './snapshot/builder';
import { SnapshotPublisher } from './snapshot/publisher';
import { SnapshotRebuilder } from './snapshot/rebuilder';
import { reconcileOutcomeReporter, reconciledObject } from './reconcile/outcome';
import {
  changesSnapshot,
  keysFor,
  RECONCILER_KINDS,
  startupKeys,
  type ReconcilerKind,
  type Resource,
  type WatchView,
} from './reconcile/watches';
import { SnapshotServer } from './snapshot/server';
import { defaultCertificateFiles, loadPeerIdentity } from './identity';
import { peerNameOfCertificate } from '../kernel/identity';
import { CertificateWatcher } from './cert-files';
import type { Peer } from '../imports/clusterlink.net.types';
import {
  ADMIN_PORT,
  CERT_DIR,
  DEFAULT_NAMESPACE,
  GATEWAY_CONTAINER_PORT,
  SNAPSHOT_PORT,
} from '../kernel/api/conventions';

export { DEFAULT_NAMESPACE };

export interface ControlPlaneOptions {
  /** A loaded kubeconfig; else `kubeconfigPath`; else in-cluster / $KUBECONFIG / ~/.kube/config. */
  readonly kubeConfig?: KubeConfig;
  readonly kubeconfigPath?: string;
  /** The gateway namespace. @default 'clusterlink-system' */
  readonly namespace?: string;
  /** PEM of the fabric CA and this peer's certificate and key; else read from `certDir`. */
  readonly tls?: SnapshotTls;
  /** Folder with ca.pem, cert.pem, key.pem (watched: new certificates apply without a restart). @default '/etc/clusterlink' */
  readonly certDir?: string;
  /** How often the certificate files are compared besides file-system events. @default 3000 */
  readonly certCheckIntervalMs?: number;
  /** This peer's labels (sent to other peers, used in policies). */
  readonly peerLabels?: Readonly<Record<string, string>>;
  readonly logLevel?: string;
  readonly logger?: Logger;
  /** @default 9090; 0 = ephemeral */
  readonly adminPort?: number;
  readonly adminHost?: string;
  /** @default 9444; 0 = ephemeral */
  readonly snapshotPort?: number;
  readonly snapshotHost?: string;
  /** The data plane's gateway container port (never allocated to an Import). @default 8443 */
  readonly gatewayPort?: number;
  /** Range of allocated Import target ports. @default 20000-29999 */
  readonly portRange?: PortRange;
  /** Leader-election identity. @default hostname + random suffix */
  readonly identity?: string;
  readonly leaseName?: string;
  readonly leaseDurationSeconds?: number;
  readonly leaseRetryMs?: number;
  /** Informer resync period. @default 5 minutes */
  readonly resyncMs?: number;
  /** Reconciles running at once per kind. @default 4 */
  readonly concurrency?: number;
  /** Peer heartbeats; default controller/health's HeartbeatMonitor. */
  readonly peerMonitor?: PeerMonitorFactory;
  readonly registry?: Registry;
}

export interface ControlPlane {
  readonly identity: string;
  readonly peerName: string;
  readonly snapshots: SnapshotSource & { readonly snapshot: GatewaySnapshot | undefined };
  readonly adminAddress: { host: string; port: number };
  readonly snapshotAddress: { host: string; port: number };
  readonly cache: ClusterCache;
  readonly metrics: ControlPlaneMetrics;
  isLeader(): boolean;
  /** Resolves when nothing is queued or running in any work queue (tests, benchmarks). */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

/** What the event wiring needs of an informer, whatever its object type. */
interface WatchedInformer {
  on(event: InformerEvent, handler: InformerHandler<KubeObject>): unknown;
  list(): KubeObject[];
}

function loadKubeConfig(options: ControlPlaneOptions): KubeConfig {
  if (options.kubeConfig) return options.kubeConfig;
  const kc = new KubeConfig();
  if (options.kubeconfigPath) kc.loadFromFile(options.kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
}

export async function runControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const logger = (
    options.logger ?? (options.logLevel ? createLogger({ level: options.logLevel }) : rootLogger)
  ).child({
    component: 'controlplane',
  });
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const identity = options.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
  const peerIdentity = options.tls
    ? await loadPeerIdentityFromPem(options.tls)
    : await loadPeerIdentity(defaultCertificateFiles(options.certDir ?? CERT_DIR));
  let tls = peerIdentity.tls;
  const peerName = peerIdentity.peerName;
  const peerLabels = { ...(options.peerLabels ?? {}) };
  const gatewayPort = options.gatewayPort ?? GATEWAY_CONTAINER_PORT;
  const adminPort = options.adminPort ?? ADMIN_PORT;
  const reservedPorts = new Set([
    gatewayPort,
    adminPort,
    options.snapshotPort ?? SNAPSHOT_PORT,
    ADMIN_PORT,
    SNAPSHOT_PORT,
  ]);

  const client = new KubeClient(loadKubeConfig(options));
  const metrics = new ControlPlaneMetrics({ registry: options.registry });
  const cache = new ClusterCache(client, { namespace, resyncMs: options.resyncMs, logger });
  const events = new EventRecorder(client, {
    component: 'clusterlink-controlplane',
    instance: identity,
    logger,
  });
  const publisher = new SnapshotPublisher();

  // Peer heartbeats run in every replica: each serves its own data planes a current verdict.
  const monitorFactory = options.peerMonitor ?? heartbeatPeerMonitor();
  const monitor: PeerMonitor = monitorFactory({
    logger,
    // Called only once the queues below exist.
    onChange: (peer) => {
      queues.peer.add(`${namespace}/${peer}`);
      rebuilder.schedule();
      updatePeerGauges();
    },
  });

  const importReconciler = new ImportReconciler({
    client,
    cache,
    events,
    reservedPorts,
    portRange: options.portRange,
    logger,
  });
  const exportReconciler = new ExportReconciler({ client, cache, events });
  const peerReconciler = new PeerReconciler({ client, cache, events, verdict: (p) => monitor.verdict(p) });
  const policyReporter = new PolicyReporter({ cache, events, logger });

  const informers: Readonly<Record<Resource, WatchedInformer>> = {
    imports: cache.imports,
    exports: cache.exports,
    peers: cache.peers,
    accessPolicies: cache.accessPolicies,
    privilegedAccessPolicies: cache.privilegedAccessPolicies,
    services: cache.services,
    endpointSlices: cache.endpointSlices,
    pods: cache.pods,
  };
  const concurrency = options.concurrency ?? 4;
  const queue = (
    kind: ReconcilerKind,
    reconcile: (key: string) => Promise<ReconcileResult>,
    workers = concurrency,
  ) =>
    new WorkQueue({
      name: kind,
      concurrency: workers,
      reconcile,
      onOutcome: reconcileOutcomeReporter(kind, {
        metrics,
        logger,
        events,
        object: (key) => reconciledObject(cache, kind, key),
      }),
    });
  const queues: Readonly<Record<ReconcilerKind, WorkQueue>> = {
    import: queue('import', (k) => importReconciler.reconcile(k)),
    export: queue('export', (k) => exportReconciler.reconcile(k)),
    peer: queue('peer', (k) => peerReconciler.reconcile(k)),
    policy: queue('policy', async () => policyReporter.reconcile(), 1),
  };
  const allQueues = Object.values(queues);

  // ---- snapshot: rebuilt (debounced) after changes, once the caches and the token key are there ----
  let tokenKey: string | undefined;
  let closed = false;
  const rebuilder = new SnapshotRebuilder({
    rebuild: () => {
      if (!tokenKey || !cache.hasSynced()) return false;
      const s = publisher.publish(
        buildSnapshotContent({
          localPeer: { name: peerName, labels: peerLabels },
          tls,
          tokenKey,
          peers: cache.peers.list(),
          verdict: (p) => monitor.verdict(p),
          exports: cache.exports.list(),
          service: (k) => cache.services.get(k),
          imports: cache.imports.list(),
          policies: policyObjects(cache),
          pods: cache.pods.list(),
          reservedPorts,
        }),
      );
      metrics.snapshotVersion.set(s.version);
      return true;
    },
  });

  // ---- event wiring (watches.ts): informer events -> keys of each reconciler; snapshot rebuilds ----
  const view: WatchView = {
    imports: () => cache.imports.list(),
    hasImport: (key) => cache.imports.get(key) !== undefined,
    hasExport: (key) => cache.exports.get(key) !== undefined,
    isDataplanePod: (pod) => cache.isDataplanePod(pod),
  };
  const probePeers = () =>
    monitor.setPeers(
      cache.peers
        .list()
        .filter((p: Peer) => !p.metadata.deletionTimestamp)
        .map((p: Peer) => ({ name: p.metadata.name, gateways: p.spec?.gateways ?? [] })),
      tls,
    );
  for (const [resource, informer] of Object.entries(informers) as [Resource, WatchedInformer][]) {
    for (const event of ['add', 'update', 'delete'] as const) {
      informer.on(event, (object, old) => {
        const change = { event, object, old };
        for (const kind of RECONCILER_KINDS) {
          for (const key of keysFor(kind, resource, change, view)) queues[kind].add(key);
        }
        if (resource === 'peers') {
          probePeers();
          updatePeerGauges();
        }
        if (changesSnapshot(resource, change)) rebuilder.schedule();
      });
    }
  }

  function updatePeerGauges(): void {
    const peers = cache.peers.list();
    metrics.peers.set(peers.length);
    metrics.peersReachable.set(peers.filter((p) => monitor.verdict(p.metadata.name)?.reachable).length);
  }

  // ---- leader election: the queues (all writes) run only while leading ----
  const elector = new LeaderElector(client, {
    namespace,
    identity,
    leaseName: options.leaseName,
    leaseDurationSeconds: options.leaseDurationSeconds,
    retryPeriodMs: options.leaseRetryMs,
    logger,
  });
  elector.on('started', () => {
    metrics.leader.set(1);
    void (async () => {
      await cache.waitForSync();
      if (!elector.isLeader || closed) return;
      // Converge everything: includes cleanup of objects whose Import went while no leader ran.
      for (const kind of RECONCILER_KINDS) {
        for (const key of startupKeys(kind, (r) => informers[r].list(), view)) queues[kind].add(key);
      }
      for (const q of allQueues) q.start();
    })();
  });
  elector.on('stopped', () => {
    metrics.leader.set(0);
    for (const q of allQueues) void q.stop();
  });

  // ---- token key: the leader creates it; everybody polls until it is known ----
  const tokenLoop = (async () => {
    while (!tokenKey && !closed) {
      try {
        tokenKey = await loadTokenKey(client, namespace, elector.isLeader);
        if (tokenKey) rebuilder.schedule();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'token key not available yet');
      }
      if (!tokenKey) await sleep(500);
    }
  })();

  const gaugeTimer = setInterval(() => {
    for (const q of allQueues) metrics.queueDepth.set({ kind: q.name }, q.depth + q.delayedCount);
    for (const inf of cache.all)
      metrics.informerRestarts.set({ resource: inf.resource.plural }, inf.restarts);
  }, 1000);
  gaugeTimer.unref();

  cache.start();
  void cache.waitForSync().then(() => rebuilder.schedule());
  elector.start();

  const snapshotServer = new SnapshotServer({
    source: publisher,
    tls,
    peerName,
    host: options.snapshotHost,
    port: options.snapshotPort ?? SNAPSHOT_PORT,
    logger,
  });
  // New certificate files (a Secret update) apply without a restart: to the snapshot (the data
  // planes follow), the heartbeats and the snapshot port. Material given inline is not watched.
  const certWatcher = options.tls
    ? undefined
    : new CertificateWatcher({
        files: defaultCertificateFiles(options.certDir ?? CERT_DIR),
        current: tls,
        peerName,
        intervalMs: options.certCheckIntervalMs,
        logger,
        onChange: (next) => {
          tls = next.tls;
          snapshotServer.setTls(tls);
          probePeers();
          rebuilder.schedule();
        },
      });
  let admin: AdminServer | undefined;
  try {
    await snapshotServer.start();
    certWatcher?.start();
    admin = await startAdminServer({
      registry: metrics.registry,
      host: options.adminHost,
      port: adminPort,
      isReady: () => cache.hasSynced() && publisher.snapshot !== undefined,
    });
  } catch (err) {
    closed = true;
    rebuilder.close();
    certWatcher?.close();
    await Promise.allSettled([
      snapshotServer.close(),
      cache.stop(),
      elector.stop(),
      tokenLoop,
      monitor.close(),
    ]);
    client.close();
    throw err;
  }
  const adminServer = admin;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      closed = true;
      certWatcher?.close();
      clearInterval(gaugeTimer);
      rebuilder.close();
      await Promise.all(allQueues.map((q) => q.stop()));
      await elector.stop();
      await monitor.close();
      await Promise.all([cache.stop(), snapshotServer.close(), adminServer.close(), tokenLoop]);
      client.close();
    })();
    return closing;
  };
  logger.info(
    { identity, peer: peerName, namespace, admin: adminServer.address, snapshots: snapshotServer.address },
    'control plane running',
  );
  return {
    identity,
    peerName,
    snapshots: publisher,
    adminAddress: adminServer.address,
    snapshotAddress: snapshotServer.address,
    cache,
    metrics,
    isLeader: () => elector.isLeader,
    whenIdle: async () => {
      await Promise.all(allQueues.map((q) => q.whenIdle()));
    },
    close,
  };
}

async function loadPeerIdentityFromPem(tls: SnapshotTls): Promise<{ tls: SnapshotTls; peerName: string }> {
  const name = peerNameOfCertificate(new X509Certificate(tls.cert));
  if (!name) throw new ClusterLinkError('CL_ERR_BAD_CERTIFICATE', 'the peer certificate has no DNS name');
  return { tls, peerName: name };
}

/** Options from the environment (the `clusterlink controlplane` conventions). */
export function controlPlaneOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ControlPlaneOptions {
  const num = (name: string, max = 65535): number | undefined => {
    const v = env[name];
    if (!v) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) {
      throw new ClusterLinkError('CL_ERR_BAD_OPTION', `${name}=${v} is not an integer in 0..${max}`);
    }
    return n;
  };
  return {
    namespace: env.CL_NAMESPACE || undefined,
    kubeconfigPath: env.KUBECONFIG || undefined,
    certDir: env.CL_CERT_DIR || undefined,
    peerLabels: parsePeerLabels(env.CL_PEER_LABELS ?? ''),
    logLevel: logLevelFromEnvironment(env),
    adminPort: num('CL_ADMIN_PORT'),
    snapshotPort: num('CL_SNAPSHOT_PORT'),
    gatewayPort: num('CL_GATEWAY_PORT'),
    identity: env.CL_IDENTITY || env.POD_NAME || undefined,
    leaseDurationSeconds: num('CL_LEASE_DURATION_SECONDS', 3600),
    leaseRetryMs: num('CL_LEASE_RETRY_MS', 60_000),
  };
}

/** "k=v,k2=v2" -> { k: 'v', k2: 'v2' }; throws on an entry without '='. */
export function parsePeerLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) {
      throw new ClusterLinkError('CL_ERR_BAD_PEER_LABELS', `peer label "${part}" is not key=value`);
    }
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
