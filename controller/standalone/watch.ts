/**
 * Watches a configuration directory. fs.watch gives prompt notice of most edits (debounced, since
 * an editor's save is several events), and a periodic rescan of names, sizes and modification
 * times catches what fs.watch misses (network file systems, a directory replaced, events dropped
 * under load). Subscribers then reload and compare content digests.
 */
import { watch, promises as fs, type FSWatcher } from 'node:fs';
import * as path from 'node:path';

export interface DirectoryWatcherOptions {
  /** Quiet time after the last event before reporting a change. @default 150 */
  readonly debounceMs?: number;
  /** Interval of the fallback rescan. @default 2000 */
  readonly rescanMs?: number;
  /** Which files matter; others are ignored by the rescan. @default every file */
  readonly filter?: (name: string) => boolean;
  /** Use fs.watch events (else only the rescan notices changes). @default true */
  readonly fsEvents?: boolean;
  /** Receives watch errors (e.g. the directory disappeared); the rescan keeps going. */
  readonly onError?: (err: Error) => void;
}

export class DirectoryWatcher {
  private fsWatcher: FSWatcher | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private fingerprint = '';
  private closed = false;
  private readonly debounceMs: number;
  private readonly rescanMs: number;
  private readonly filter: (name: string) => boolean;

  constructor(
    private readonly dir: string,
    private readonly onChange: () => void,
    private readonly options: DirectoryWatcherOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 150;
    this.rescanMs = options.rescanMs ?? 2000;
    this.filter = options.filter ?? (() => true);
  }

  /** Starts watching; the current state is the baseline (no change is reported for it). */
  async start(): Promise<void> {
    this.fingerprint = await this.scan();
    this.startFsWatch();
    this.scheduleRescan();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounceTimer);
    clearTimeout(this.rescanTimer);
    this.fsWatcher?.close();
    this.fsWatcher = undefined;
  }

  private startFsWatch(): void {
    if (this.closed || this.fsWatcher || this.options.fsEvents === false) return;
    try {
      this.fsWatcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name === null || this.filter(name.toString())) this.trigger();
      });
      this.fsWatcher.on('error', (err) => {
        this.options.onError?.(err);
        this.fsWatcher?.close();
        this.fsWatcher = undefined; // re-established by the next rescan
      });
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }

  private trigger(): void {
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      void this.scan().then((fp) => {
        this.fingerprint = fp;
        if (!this.closed) this.onChange();
      });
    }, this.debounceMs);
    this.debounceTimer.unref();
  }

  private scheduleRescan(): void {
    if (this.closed) return;
    this.rescanTimer = setTimeout(() => void this.rescan(), this.rescanMs);
    this.rescanTimer.unref();
  }

  private async rescan(): Promise<void> {
    const fp = await this.scan();
    if (this.closed) return;
    this.startFsWatch();
    if (fp !== this.fingerprint) {
      this.fingerprint = fp;
      this.onChange();
    }
    this.scheduleRescan();
  }

  /** Names, sizes and modification times of the matching files; '' when the directory is unreadable. */
  private async scan(): Promise<string> {
    try {
      const names = (await fs.readdir(this.dir)).filter(this.filter).sort();
      const parts = await Promise.all(
        names.map(async (name) => {
          try {
            const st = await fs.stat(path.join(this.dir, name));
            return `${name}:${st.size}:${st.mtimeMs}:${st.ino}`;
          } catch {
            return `${name}:gone`;
          }
        }),
      );
      return parts.join('\n');
    } catch (err) {
      this.options.onError?.(err as Error);
      return '';
    }
  }
}
