/** The Export reconciler: ExportValid follows the Service `<name>.<namespace>` (or spec.host). */
import type { KubeClient } from '../k8s/client';
import type { EventSink } from '../k8s/events';
import { Resources } from '../k8s/resources';
import type { ReconcileResult } from '../k8s/workqueue';
import type { ClusterCache } from './cache';
import { resolveExport } from './export-validity';
import { writeConditions } from './status';

export class ExportReconciler {
  constructor(private readonly o: { client: KubeClient; cache: ClusterCache; events: EventSink }) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const exp = this.o.cache.exports.get(key);
    if (!exp || exp.metadata.deletionTimestamp) return;
    const resolution = resolveExport(exp, this.o.cache.services.get(key));
    await writeConditions(this.o.client, this.o.events, Resources.export, exp, [resolution.condition]);
  }
}
