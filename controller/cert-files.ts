/**
 * Watches a gateway's certificate files (ca.pem, cert.pem, key.pem) and reports new, valid material
 * without a restart. In Kubernetes the files come from mounted Secrets, which are updated by
 * renaming a `..data` symlink over: fs.watch on the folder reports that promptly on most file
 * systems, but not always (nor on every platform), so the content is also compared every few
 * seconds. New material is checked like at start (loadPeerIdentity: readable, chained to the CA,
 * key matches, not expired) and must name the same peer: a gateway's identity is fixed for its
 * lifetime, since the peer name is woven into its snapshot, exports and policies. Anything else is
 * logged and the previous material stays in effect.
 */
import { watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import type { SnapshotTls } from '../kernel/api/snapshot';
import { CertificateError, loadPeerIdentity, type CertificateFiles, type PeerIdentity } from './identity';
import type { Logger } from '../kernel/log';

export interface CertificateWatcherOptions {
  readonly files: CertificateFiles;
  /** The material in effect now (the baseline: no change is reported for it). */
  readonly current: SnapshotTls;
  /** The peer name of the current material; new material must name the same peer. */
  readonly peerName: string;
  /** Called with every new valid material (after the watcher's own state is updated). */
  readonly onChange: (identity: PeerIdentity) => void;
  /** Interval of the content comparison. @default 3000 */
  readonly intervalMs?: number;
  /** Quiet time after a file-system event before reading (a Secret update is several events). @default 100 */
  readonly debounceMs?: number;
  readonly logger?: Logger;
}

export function sameTls(a: SnapshotTls, b: SnapshotTls): boolean {
  return a.ca === b.ca && a.cert === b.cert && a.key === b.key;
}

export class CertificateWatcher {
  private current: SnapshotTls;
  private fsWatchers: FSWatcher[] = [];
  private interval: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  /** The last refusal logged, so that a bad file is reported once, not every interval. */
  private lastRefusal = '';
  private closed = false;

  constructor(private readonly options: CertificateWatcherOptions) {
    this.current = options.current;
  }

  /** The material in effect. */
  get tls(): SnapshotTls {
    return this.current;
  }

  start(): void {
    if (this.closed || this.interval) return;
    // The folders of the three files (one folder in every deployment we make, but they may differ).
    for (const dir of new Set(Object.values(this.options.files).map((f) => path.dirname(f)))) {
      try {
        const w = watch(dir, () => this.schedule());
        w.on('error', (err) => {
          // E.g. the folder went away: the periodic comparison keeps going.
          this.options.logger?.debug({ dir, err: err.message }, 'certificate folder watch failed');
          w.close();
        });
        w.unref();
        this.fsWatchers.push(w);
      } catch (err) {
        this.options.logger?.debug({ dir, err: (err as Error).message }, 'cannot watch certificate folder');
      }
    }
    this.interval = setInterval(() => void this.check(), this.options.intervalMs ?? 3000);
    this.interval.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.interval);
    clearTimeout(this.debounce);
    for (const w of this.fsWatchers) w.close();
    this.fsWatchers = [];
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.check(), this.options.debounceMs ?? 100);
    this.debounce.unref();
  }

  /** Reads the files and reports new valid material. Serialized; never throws. */
  check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        await this.checkOnce();
      } while (this.again && !this.closed);
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    let identity: PeerIdentity;
    try {
      identity = await loadPeerIdentity(this.options.files);
    } catch (err) {
      // Also seen for a moment while files are rewritten one by one (cert before key): the next
      // check sees the consistent state.
      this.refuse((err as Error).message, err instanceof CertificateError ? err.code : undefined);
      return;
    }
    if (this.closed || sameTls(identity.tls, this.current)) {
      this.lastRefusal = '';
      return;
    }
    if (identity.peerName !== this.options.peerName) {
      this.refuse(
        `${this.options.files.cert}: names peer "${identity.peerName}" but this gateway is "${this.options.peerName}": restart to change identity; keeping the previous certificates`,
        'CL_ERR_BAD_CERTIFICATE',
      );
      return;
    }
    this.lastRefusal = '';
    this.current = identity.tls;
    this.options.logger?.info(
      { peer: identity.peerName, notAfter: identity.notAfter.toISOString() },
      'certificates reloaded',
    );
    try {
      this.options.onChange(identity);
    } catch (err) {
      this.options.logger?.error({ err: (err as Error).message }, 'certificate change listener failed');
    }
  }

  private refuse(message: string, code: string | undefined): void {
    if (message === this.lastRefusal) return;
    this.lastRefusal = message;
    this.options.logger?.error({ err: message, code }, 'new certificates refused; keeping the previous ones');
  }
}
