/**
 * The Import reconciler: resolves (and writes back) the target port, converges the Service and
 * EndpointSlice of the Import, cleans up after deleted Imports, and reports both conditions.
 * Level-based: it re-reads the caches and converges, whatever event brought the key here.
 */
import { Condition } from '../../kernel/api/labels';
import type { Import } from '../../imports/clusterlink.net.types';
import type { KubeClient } from '../k8s/client';
import type { EndpointSlice, Service } from '../k8s/core';
import { isAlreadyExists, isConflict, isNotFound } from '../k8s/errors';
import type { EventSink } from '../k8s/events';
import { splitKey } from '../k8s/object';
import { collectionPath, objectPath, Resources } from '../k8s/resources';
import type { ReconcileResult } from '../k8s/workqueue';
import type { Logger } from '../../kernel/log';
import type { ClusterCache } from './cache';
import type { ConditionInput } from './conditions';
import {
  endpointSliceName,
  endpointSliceNeedsUpdate,
  planImportObjects,
  serviceNeedsUpdate,
} from './import-service';
import { isManagedByUs, ownerImportKey } from './labels';
import { DEFAULT_PORT_RANGE, resolveTargetPort, type PortClaim, type PortRange } from './ports';
import { writeConditions } from './status';

export interface ImportReconcilerOptions {
  readonly client: KubeClient;
  readonly cache: ClusterCache;
  readonly events: EventSink;
  /** Ports the data plane itself listens on (gateway, admin): never handed to an Import. */
  readonly reservedPorts: ReadonlySet<number>;
  readonly portRange?: PortRange;
  readonly logger?: Logger;
}

export class ImportReconciler {
  /** Ports allocated and written back but not yet visible in the cache (allocation is synchronous). */
  private readonly reservations = new Map<string, number>();
  /** resourceVersion an allocation was written against: a cached Import still at it is stale. */
  private readonly allocatedFrom = new Map<string, string | undefined>();

  constructor(private readonly o: ImportReconcilerOptions) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    let imp = this.o.cache.imports.get(key);
    if (!imp || imp.metadata.deletionTimestamp) {
      this.reservations.delete(key);
      this.allocatedFrom.delete(key);
      await this.cleanup(key, undefined);
      return;
    }
    if (this.allocatedFrom.has(key)) {
      // Another event ran us before the cache saw our port write-back: wait for the cache.
      if (this.allocatedFrom.get(key) === imp.metadata.resourceVersion) return { requeueAfterMs: 100 };
      this.allocatedFrom.delete(key);
    }
    const port = await this.targetPort(key, imp);
    // Go on with the written-back object: its resourceVersion is the one to patch status against.
    imp = port.updated ?? imp;
    const ns = imp.metadata.namespace ?? 'default';
    const existing = this.o.cache.services.get(`${ns}/${imp.metadata.name}`);
    const plan = planImportObjects(imp, port.port, existing, this.o.cache.dataplanePods());
    if (plan.service) await this.applyService(plan.service, existing);
    let serviceCondition = plan.condition;
    const sliceBlocked = plan.endpointSlice && !(await this.applyEndpointSlice(plan.endpointSlice));
    if (plan.endpointSlice && sliceBlocked) {
      const sliceRef = `${ns}/${plan.endpointSlice.metadata!.name}`;
      serviceCondition = {
        type: Condition.importServiceValid,
        status: 'False',
        reason: 'EndpointSliceConflict',
        message: `EndpointSlice ${sliceRef} exists and is not managed by ClusterLink; delete or rename it`,
      };
    }
    await this.cleanup(key, plan);
    // A conflict (like any condition turning False) is reported as a Warning Event by writeConditions.
    await writeConditions(this.o.client, this.o.events, Resources.import, imp, [
      port.condition,
      serviceCondition,
    ]);
    // The user's slice is outside our (label-filtered) informer: look again now and then.
    if (sliceBlocked) return { requeueAfterMs: 30_000 };
  }

  private async targetPort(
    key: string,
    imp: Import,
  ): Promise<{ port?: number; condition: ConditionInput; updated?: Import }> {
    const requested = imp.spec?.targetPort ?? 0;
    if (requested > 0 && this.reservations.get(key) === requested) this.reservations.delete(key);
    const claims: PortClaim[] = [];
    for (const other of this.o.cache.imports.list()) {
      const otherKey = `${other.metadata.namespace}/${other.metadata.name}`;
      const p = other.spec?.targetPort || this.reservations.get(otherKey) || 0;
      if (p > 0 && !other.metadata.deletionTimestamp) {
        claims.push({ key: otherKey, port: p, creationTimestamp: other.metadata.creationTimestamp });
      }
    }
    const res = resolveTargetPort(
      { key, port: requested, creationTimestamp: imp.metadata.creationTimestamp },
      claims,
      this.o.reservedPorts,
      this.o.portRange ?? DEFAULT_PORT_RANGE,
    );
    if (!res.ok) {
      return {
        condition: {
          type: Condition.importTargetPortValid,
          status: 'False',
          reason: res.reason,
          message: res.message,
        },
      };
    }
    if (res.allocated) {
      // Reserve before the first await: concurrent reconciles of other Imports see the port taken.
      this.reservations.set(key, res.port);
      this.allocatedFrom.set(key, imp.metadata.resourceVersion);
      let updated: Import;
      try {
        updated = await this.o.client.mergePatch<Import>(
          objectPath(Resources.import, imp.metadata.namespace, imp.metadata.name),
          {
            metadata: { resourceVersion: imp.metadata.resourceVersion },
            spec: { targetPort: res.port },
          },
        );
      } catch (err) {
        this.reservations.delete(key);
        this.allocatedFrom.delete(key);
        throw err;
      }
      this.o.logger?.info({ object: key, targetPort: res.port }, 'allocated target port');
      this.o.events.record(imp, 'Normal', 'TargetPortAllocated', `allocated target port ${res.port}`);
      return { port: res.port, condition: okPort(res.port), updated };
    }
    return { port: res.port, condition: okPort(res.port) };
  }

  private async applyService(desired: Service, existing: Service | undefined): Promise<void> {
    const ns = desired.metadata!.namespace!;
    const name = desired.metadata!.name!;
    if (!existing) {
      try {
        await this.o.client.create(collectionPath(Resources.service, ns), desired);
      } catch (err) {
        // The cache is behind a Service created meanwhile: the watch event will bring us back.
        if (!isAlreadyExists(err)) throw err;
      }
      return;
    }
    if (!isManagedByUs(existing) || !serviceNeedsUpdate(existing, desired)) return;
    await this.o.client.mergePatch(objectPath(Resources.service, ns, name), {
      metadata: {
        resourceVersion: existing.metadata?.resourceVersion,
        labels: desired.metadata?.labels,
        ownerReferences: desired.metadata?.ownerReferences,
      },
      spec: { ports: desired.spec?.ports, selector: null },
    });
  }

  /** Creates or corrects our EndpointSlice; false when a slice of that name belongs to someone else. */
  private async applyEndpointSlice(desired: EndpointSlice): Promise<boolean> {
    const ns = desired.metadata!.namespace!;
    const name = desired.metadata!.name!;
    const existing = this.o.cache.endpointSlices.get(`${ns}/${name}`);
    if (!existing) {
      try {
        await this.o.client.create(collectionPath(Resources.endpointSlice, ns), desired);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        // Unmanaged slices are outside our informer: a user's slice of this name is left alone.
        const current = await this.o.client.get<EndpointSlice>(objectPath(Resources.endpointSlice, ns, name));
        return isManagedByUs(current);
      }
      return true;
    }
    if (!endpointSliceNeedsUpdate(existing, desired)) return true;
    await this.o.client.replace(objectPath(Resources.endpointSlice, ns, name), {
      ...desired,
      metadata: { ...desired.metadata, resourceVersion: existing.metadata?.resourceVersion },
    });
    return true;
  }

  /**
   * Deletes the objects we manage for `key` that the plan does not want (all of them when no
   * plan). We only ever create the Service `<name>` and the EndpointSlice `<name>-clusterlink`, so
   * two lookups find them; the owner labels tell ours from the user's.
   */
  private async cleanup(
    key: string,
    plan: { service?: Service; endpointSlice?: EndpointSlice } | undefined,
  ): Promise<void> {
    const { namespace, name } = splitKey(key);
    const deletions: Promise<void>[] = [];
    const svc = this.o.cache.services.get(`${namespace}/${name}`);
    if (svc && !plan?.service && ownerImportKey(svc) === key) {
      deletions.push(this.deleteIgnoringMissing(objectPath(Resources.service, namespace, name), svc));
    }
    const sliceName = endpointSliceName(name);
    const slice = this.o.cache.endpointSlices.get(`${namespace}/${sliceName}`);
    if (slice && !plan?.endpointSlice && ownerImportKey(slice) === key) {
      deletions.push(
        this.deleteIgnoringMissing(objectPath(Resources.endpointSlice, namespace, sliceName), slice),
      );
    }
    await Promise.all(deletions);
  }

  private async deleteIgnoringMissing(path: string, obj: Service | EndpointSlice): Promise<void> {
    try {
      await this.o.client.delete(path, { uid: obj.metadata?.uid });
    } catch (err) {
      // gone already, or replaced by a new object of that name (uid precondition): nothing of ours to delete
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }
}

function okPort(port: number): ConditionInput {
  return {
    type: Condition.importTargetPortValid,
    status: 'True',
    reason: 'PortValid',
    message: `target port ${port}`,
  };
}
