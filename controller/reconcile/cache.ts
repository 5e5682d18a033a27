/**
 * The informers the control plane runs, with the lookups the reconcilers and the snapshot builder
 * need (data-plane pods, pods by IP, objects we manage per Import).
 */
import type {
  AccessPolicy,
  Export,
  Import,
  Peer,
  PrivilegedAccessPolicy,
} from '../../imports/clusterlink.net.types';
import type { Logger } from '../../kernel/log';
import type { KubeClient } from '../k8s/client';
import type { EndpointSlice, Pod, Service } from '../k8s/core';
import { Informer, type InformerOptions } from '../k8s/informer';
import { Resources } from '../k8s/resources';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../kernel/api/labels';
import { DATAPLANE_NAME } from '../../kernel/api/conventions';

export const DATAPLANE_APP_LABEL = 'app.kubernetes.io/name';
export const DATAPLANE_APP_VALUE = DATAPLANE_NAME;

export interface ClusterCacheOptions {
  /** The gateway namespace (Peers, data-plane pods). */
  readonly namespace: string;
  readonly resyncMs?: number;
  readonly logger?: Logger;
}

export class ClusterCache {
  readonly peers: Informer<Peer>;
  readonly exports: Informer<Export>;
  readonly imports: Informer<Import>;
  readonly accessPolicies: Informer<AccessPolicy>;
  readonly privilegedAccessPolicies: Informer<PrivilegedAccessPolicy>;
  readonly services: Informer<Service>;
  /** Only the EndpointSlices we manage. */
  readonly endpointSlices: Informer<EndpointSlice>;
  readonly pods: Informer<Pod>;

  constructor(
    client: KubeClient,
    readonly options: ClusterCacheOptions,
  ) {
    const base: InformerOptions = { resyncMs: options.resyncMs, logger: options.logger };
    const ns = options.namespace;
    this.peers = new Informer<Peer>(client, Resources.peer, { ...base, namespace: ns });
    this.exports = new Informer<Export>(client, Resources.export, base);
    this.imports = new Informer<Import>(client, Resources.import, base);
    this.accessPolicies = new Informer<AccessPolicy>(client, Resources.accessPolicy, base);
    this.privilegedAccessPolicies = new Informer<PrivilegedAccessPolicy>(
      client,
      Resources.privilegedAccessPolicy,
      base,
    );
    this.services = new Informer<Service>(client, Resources.service, base);
    this.endpointSlices = new Informer<EndpointSlice>(client, Resources.endpointSlice, {
      ...base,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    });
    this.pods = new Informer<Pod>(client, Resources.pod, base);
  }

  get all(): Informer<never>[] {
    return [
      this.peers,
      this.exports,
      this.imports,
      this.accessPolicies,
      this.privilegedAccessPolicies,
      this.services,
      this.endpointSlices,
      this.pods,
    ] as unknown as Informer<never>[];
  }

  start(): void {
    for (const i of this.all) i.start();
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.all.map((i) => i.waitForSync()));
  }

  hasSynced(): boolean {
    return this.all.every((i) => i.hasSynced());
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
  }

  /** Data-plane pods of this gateway (in the gateway namespace, labelled as the data plane). */
  dataplanePods(): Pod[] {
    return this.pods
      .list()
      .filter(
        (p) =>
          p.metadata?.namespace === this.options.namespace &&
          p.metadata?.labels?.[DATAPLANE_APP_LABEL] === DATAPLANE_APP_VALUE,
      );
  }

  isDataplanePod(p: Pod): boolean {
    return (
      p.metadata?.namespace === this.options.namespace &&
      p.metadata?.labels?.[DATAPLANE_APP_LABEL] === DATAPLANE_APP_VALUE
    );
  }
}
