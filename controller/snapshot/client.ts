/**
 * The data plane's side of the snapshot channel: a SnapshotSource that long-polls the control
 * plane over mTLS, delivers every other snapshot (a new version, or one from another control-plane
 * instance), and keeps the last one (and keeps retrying with backoff) while the control plane is
 * away, so the data plane serves on through restarts.
 */
import { ClusterLinkError } from '../../kernel/errors';
import * as https from 'node:https';
import type { GatewaySnapshot, SnapshotSource } from '../../kernel/api/snapshot';
import { backoffDelay, sleep } from '../k8s/backoff';
import type { Logger } from '../../kernel/log';
import { CertificateWatcher } from '../cert-files';
import { defaultCertificateFiles, loadPeerIdentity, type CertificateFiles } from '../identity';
import { parseSnapshot, SNAPSHOT_PATH, snapshotQuery } from './wire';
import { CERT_DIR, CONTROLPLANE_NAME, SNAPSHOT_PORT } from '../../kernel/api/conventions';

export interface SnapshotClientOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  /** The control plane's certificate must name this peer (it is the same site). */
  readonly peerName: string;
  /**
   * This site's certificate files, watched: new ones are used from the next connection. (The
   * snapshot carries them too; the files matter when the control plane changed before this
   * client could fetch a snapshot with the new ones.)
   */
  readonly certFiles?: CertificateFiles;
  readonly certCheckIntervalMs?: number;
  /** Abandon a poll after this long without an answer. @default 60000 */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
}

export class SnapshotClient implements SnapshotSource {
  private last: GatewaySnapshot | undefined;
  private readonly listeners = new Set<(s: GatewaySnapshot) => void>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private agent: https.Agent;
  private tls: SnapshotClientOptions['tls'];
  private certWatcher: CertificateWatcher | undefined;
  /** True while the last poll succeeded. */
  connected = false;

  constructor(private readonly options: SnapshotClientOptions) {
    this.tls = options.tls;
    this.agent = this.createAgent();
  }

  private createAgent(): https.Agent {
    return new https.Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: this.tls.ca,
      cert: this.tls.cert,
      key: this.tls.key,
      servername: this.options.peerName,
    });
  }

  /**
   * New certificates for the next connections. The snapshot carries this site's certificates, read
   * by the control plane from the same Secrets as ours, so every snapshot received passes its own;
   * the certificate files (options.certFiles) are the other source. Either way the channel
   * survives a certificate swap (the control plane's port takes the new ones too).
   */
  setTls(tls: SnapshotClientOptions['tls']): void {
    if (tls.ca === this.tls.ca && tls.cert === this.tls.cert && tls.key === this.tls.key) return;
    this.tls = tls;
    const old = this.agent;
    this.agent = this.createAgent();
    old.destroy();
    this.options.logger?.info('snapshot channel switches to the new certificates');
  }

  get snapshot(): GatewaySnapshot | undefined {
    return this.last;
  }

  subscribe(listener: (snapshot: GatewaySnapshot) => void): () => void {
    this.listeners.add(listener);
    if (this.last) listener(this.last);
    if (!this.loop) {
      this.loop = this.run();
      this.watchCertificates();
    }
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first snapshot (or rejects after `timeoutMs`). */
  waitForSnapshot(timeoutMs = 30_000): Promise<GatewaySnapshot> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no snapshot within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.subscribe((s) => {
        clearTimeout(timer);
        queueMicrotask(() => off());
        resolve(s);
      });
    });
  }

  private watchCertificates(): void {
    const files = this.options.certFiles;
    if (!files) return;
    this.certWatcher = new CertificateWatcher({
      files,
      current: this.tls,
      peerName: this.options.peerName,
      intervalMs: this.options.certCheckIntervalMs,
      logger: this.options.logger,
      onChange: (identity) => this.setTls(identity.tls),
    });
    this.certWatcher.start();
  }

  async close(): Promise<void> {
    this.certWatcher?.close();
    this.abort.abort();
    await this.loop;
    this.agent.destroy();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        const s = await this.poll(this.last);
        this.connected = true;
        failures = 0;
        // Handed on when it is another snapshot, of another origin or version: which one wins is
        // the data plane's decision (snapshotSupersedes), not the channel's.
        if (s && (s.version !== this.last?.version || s.origin !== this.last?.origin)) {
          this.last = s;
          this.setTls(s.tls);
          for (const l of [...this.listeners]) {
            try {
              l(s);
            } catch (err) {
              this.options.logger?.error({ err: (err as Error).message }, 'snapshot listener threw');
            }
          }
        }
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.connected = false;
        failures++;
        const delay = backoffDelay({ initialMs: 250, maxMs: 10_000 }, failures);
        this.options.logger?.warn(
          { err: (err as Error).message, retryInMs: delay, version: this.last?.version },
          'snapshot poll failed; serving on the last snapshot',
        );
        await sleep(delay, this.abort.signal);
      }
    }
  }

  private poll(held: GatewaySnapshot | undefined): Promise<GatewaySnapshot | undefined> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.options.host,
          port: this.options.port,
          path: `${SNAPSHOT_PATH}?${snapshotQuery(held)}`,
          method: 'GET',
          agent: this.agent,
          signal: AbortSignal.any([
            this.abort.signal,
            AbortSignal.timeout(this.options.requestTimeoutMs ?? 60_000),
          ]),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            if (res.statusCode === 204) return resolve(undefined);
            if (res.statusCode !== 200)
              return reject(new Error(`snapshot server answered ${res.statusCode}`));
            try {
              resolve(parseSnapshot(Buffer.concat(chunks).toString('utf8')));
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
}

/** "host:port" or "[v6]:port" -> parts; throws a clear error otherwise. */
export function parseHostPort(text: string, defaultPort = SNAPSHOT_PORT): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(text.trim());
  const port = m?.[3] ? Number(m[3]) : defaultPort;
  if (!m || port < 1 || port > 65535) {
    throw new ClusterLinkError('CL_ERR_BAD_ADDRESS', `control-plane address "${text}" is not host:port`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * The data plane's snapshot source in Kubernetes: the control plane at `controlPlane`
 * (CL_CONTROLPLANE, default cl-controlplane:9444), authenticated with this site's certificate
 * files (CL_CERT_DIR).
 */
export async function connectToControlPlane(options: {
  readonly controlPlane?: string;
  readonly certDir?: string;
  readonly logger?: Logger;
}): Promise<SnapshotClient> {
  const certFiles = defaultCertificateFiles(options.certDir ?? CERT_DIR);
  const identity = await loadPeerIdentity(certFiles);
  const { host, port } = parseHostPort(options.controlPlane ?? `${CONTROLPLANE_NAME}:${SNAPSHOT_PORT}`);
  return new SnapshotClient({
    host,
    port,
    tls: identity.tls,
    peerName: identity.peerName,
    certFiles,
    logger: options.logger,
  });
}
