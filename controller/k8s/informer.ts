/**
 * A shared informer: list, then watch from the list's resourceVersion, keeping a cache and calling
 * handlers on add/update/delete. It never stops on its own: 410 Gone relists at once, any other
 * error restarts the list-watch after an exponential backoff, and a periodic resync (with jitter)
 * replays every cached object to the update handlers so missed work is picked up again.
 */
import type { Logger } from '../../kernel/log';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff';
import type { KubeClient, Query } from './client';
import { isGone, KubeApiError } from './errors';
import { keyOf, type KubeList, type KubeObject } from './object';
import { collectionPath, type ResourceType } from './resources';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (obj: T, old?: T) => void;

export interface InformerOptions {
  /** Only this namespace; undefined = all namespaces. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** @default 5 minutes; 0 disables resync */
  readonly resyncMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Server-side watch timeout. @default random 300..600 s (as client-go) */
  readonly watchTimeoutSeconds?: number;
  /** How long past its timeout a silent watch is considered dead. @default 30000 */
  readonly deadWatchSlackMs?: number;
  /** Page size of the initial list. @default 500 */
  readonly pageSize?: number;
  readonly logger?: Logger;
}

const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 30_000 };
/** A watch that ends sooner than this without delivering anything counts as a failure (no hot loop). */
const MIN_HEALTHY_WATCH_MS = 1000;

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: Record<InformerEvent, InformerHandler<T>[]> = {
    add: [],
    update: [],
    delete: [],
  };
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private resourceVersion: string | undefined;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Number of (re)lists performed; visible for tests and metrics. */
  lists = 0;
  /** Number of errors that caused a restart. */
  restarts = 0;
  /** Restarts by HTTP status of the failure (0 = transport or other error): 403 means missing RBAC. */
  readonly failuresByStatus = new Map<number, number>();

  constructor(
    private readonly client: KubeClient,
    readonly resource: ResourceType,
    private readonly options: InformerOptions = {},
  ) {}

  on(event: InformerEvent, handler: InformerHandler<T>): this {
    this.handlers[event].push(handler);
    return this;
  }

  /** Every cached object (a fresh array; the objects are shared: do not mutate them). */
  list(): T[] {
    return [...this.store.values()];
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  get size(): number {
    return this.store.size;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (this.running) return;
    this.running = this.run();
    this.scheduleResync();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    await this.running;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private get path(): string {
    return collectionPath(this.resource, this.options.namespace);
  }

  private selectors(): Query {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const started = Date.now();
      let delivered = false;
      try {
        if (this.resourceVersion === undefined) await this.relist(signal);
        // Like client-go: a random server-side timeout between 5 and 10 minutes.
        const timeoutSeconds = this.options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
        // The server ends the watch at timeoutSeconds; one that outlives it by far is on a dead
        // connection (a server that vanished without closing it): abandon it and watch anew.
        const watchdog = new AbortController();
        const timer = setTimeout(
          () => watchdog.abort(),
          timeoutSeconds * 1000 + (this.options.deadWatchSlackMs ?? 30_000),
        );
        timer.unref();
        try {
          await this.client.watch<T>(
            this.path,
            {
              ...this.selectors(),
              resourceVersion: this.resourceVersion,
              allowWatchBookmarks: true,
              timeoutSeconds,
            },
            (event) => {
              delivered = true;
              this.apply(event.type, event.object);
            },
            AbortSignal.any([signal, watchdog.signal]),
          );
        } finally {
          clearTimeout(timer);
        }
        if (!delivered && Date.now() - started < MIN_HEALTHY_WATCH_MS && !signal.aborted) {
          throw new Error('watch closed immediately');
        }
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          // Our resourceVersion is too old: relist at once, no backoff.
          this.options.logger?.debug({ resource: this.resource.plural }, 'watch expired (410), relisting');
          this.resourceVersion = undefined;
          continue;
        }
        failures++;
        this.restarts++;
        const status = err instanceof KubeApiError ? err.statusCode : 0;
        this.failuresByStatus.set(status, (this.failuresByStatus.get(status) ?? 0) + 1);
        const delay = backoffDelay(this.options.backoff ?? DEFAULT_BACKOFF, failures);
        this.options.logger?.warn(
          { resource: this.resource.plural, err: (err as Error).message, retryInMs: delay },
          'list-watch failed, restarting',
        );
        // A fresh list after an error: events may have been lost while the watch was down.
        this.resourceVersion = undefined;
        await sleep(delay, signal);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await this.client.request<KubeList<T>>('GET', this.path, {
        query: { ...this.selectors(), limit: this.options.pageSize ?? 500, continue: cont },
        signal,
      });
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion;
    } while (cont);
    this.lists++;
    this.replace(items);
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** Replaces the cache with a full list, emitting the difference as events. */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const kind = this.resource.kind;
      item.kind ??= kind; // list items carry no kind
      const key = keyOf(item);
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, item);
      if (!old) this.emit('add', item);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion)
        this.emit('update', item, old);
    }
    for (const [key, old] of [...this.store]) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit('delete', old);
      }
    }
  }

  private apply(type: string, obj: T): void {
    if (type === 'BOOKMARK') {
      this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
      return;
    }
    const key = keyOf(obj);
    const old = this.store.get(key);
    if (type === 'DELETED') {
      this.store.delete(key);
      this.emit('delete', old ?? obj);
    } else {
      this.store.set(key, obj);
      if (old) this.emit('update', obj, old);
      else this.emit('add', obj);
    }
    this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
  }

  private emit(event: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers[event]) {
      try {
        h(obj, old);
      } catch (err) {
        // A handler's bug must not break the cache or the other handlers.
        this.options.logger?.error({ resource: this.resource.plural, err }, 'informer handler threw');
      }
    }
  }

  private scheduleResync(): void {
    const period = this.options.resyncMs ?? 5 * 60_000;
    if (period <= 0 || this.abort.signal.aborted) return;
    const delay = period * (1 + 0.2 * Math.random());
    this.resyncTimer = setTimeout(() => {
      for (const obj of this.store.values()) this.emit('update', obj, obj);
      this.scheduleResync();
    }, delay);
    this.resyncTimer.unref();
  }
}
