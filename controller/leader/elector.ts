/**
 * Leader election on a coordination.k8s.io/v1 Lease. Only the leader writes to the API (Services,
 * EndpointSlices, status, port allocation); every replica keeps serving its data planes.
 * Writes use the Lease's resourceVersion, so two candidates can never both win the same round.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../kernel/log';
import { sleep } from '../k8s/backoff';
import type { KubeClient } from '../k8s/client';
import { isConflict, isNotFound } from '../k8s/errors';
import type { KubeObject } from '../k8s/object';
import { collectionPath, objectPath, Resources } from '../k8s/resources';
import { decide, nextSpec, observe, releasedSpec, type LeaseSpec, type ObservedRecord } from './lease';
import { CONTROLPLANE_NAME } from '../../kernel/api/conventions';

export interface LeaderElectorOptions {
  readonly namespace: string;
  /** @default 'cl-controlplane' */
  readonly leaseName?: string;
  readonly identity: string;
  /** @default 5 */
  readonly leaseDurationSeconds?: number;
  /** A leader that has not renewed for this long steps down. @default 3000 */
  readonly renewDeadlineMs?: number;
  /** @default 1000 */
  readonly retryPeriodMs?: number;
  readonly logger?: Logger;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectorEvents {
  started: [];
  stopped: [];
  /** The lease holder as last observed ('' = none). */
  leader: [identity: string];
}

export class LeaderElector extends EventEmitter<LeaderElectorEvents> {
  private leading = false;
  private observed: ObservedRecord | undefined;
  private lastRenew = 0;
  private currentLeader = '';
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectorOptions,
  ) {
    super();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get leader(): string {
    return this.currentLeader;
  }

  private get name(): string {
    return this.options.leaseName ?? CONTROLPLANE_NAME;
  }

  private get duration(): number {
    return this.options.leaseDurationSeconds ?? 5;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning; a leader releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (this.leading) {
      this.setLeading(false);
      try {
        const lease = await this.client.get<Lease>(
          objectPath(Resources.lease, this.options.namespace, this.name),
        );
        if (lease.spec?.holderIdentity === this.options.identity) {
          await this.client.replace(objectPath(Resources.lease, this.options.namespace, this.name), {
            ...lease,
            spec: releasedSpec(lease.spec),
          });
        }
      } catch (err) {
        this.options.logger?.warn({ err: (err as Error).message }, 'could not release the lease');
      }
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        await this.tryAcquireOrRenew();
      } catch (err) {
        if (!isConflict(err)) {
          this.options.logger?.warn({ err: (err as Error).message }, 'lease update failed');
        }
      }
      if (this.leading && Date.now() - this.lastRenew > (this.options.renewDeadlineMs ?? 3000)) {
        this.options.logger?.warn('could not renew the lease in time, stepping down');
        this.setLeading(false);
      }
      await sleep(this.options.retryPeriodMs ?? 1000, signal);
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const path = objectPath(Resources.lease, this.options.namespace, this.name);
    const now = Date.now();
    let lease: Lease | undefined;
    try {
      lease = await this.client.get<Lease>(path, { timeoutMs: 2000 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!lease) {
      await this.client.create<Lease>(collectionPath(Resources.lease, this.options.namespace), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: this.options.namespace },
        spec: nextSpec(undefined, this.options.identity, now, this.duration),
      });
      this.won(now);
      return;
    }
    this.observed = observe(this.observed, lease.spec, now);
    this.noteLeader(lease.spec?.holderIdentity ?? '');
    const action = decide(lease.spec, this.observed, this.options.identity, now, this.duration);
    if (action === 'follow') {
      if (this.leading) this.setLeading(false);
      return;
    }
    const updated = await this.client.replace<Lease>(path, {
      ...lease,
      spec: nextSpec(lease.spec, this.options.identity, now, this.duration),
    });
    this.observed = observe(this.observed, updated.spec, now);
    this.won(now);
  }

  private won(now: number): void {
    this.lastRenew = now;
    this.noteLeader(this.options.identity);
    if (!this.leading) this.setLeading(true);
  }

  private noteLeader(identity: string): void {
    if (identity !== this.currentLeader) {
      this.currentLeader = identity;
      this.emit('leader', identity);
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.options.logger?.info(
      { identity: this.options.identity, leading },
      leading ? 'became leader' : 'stopped leading',
    );
    this.emit(leading ? 'started' : 'stopped');
  }
}
