/**
 * What happens after each reconcile: metrics for every outcome; for a failure, a log line and a
 * Warning Event on the object, except for write conflicts, which are routine (our cache was
 * behind) and converge on the retry.
 */
import type { Logger } from '../../kernel/log';
import { isConflict } from '../k8s/errors';
import type { EventRecorder } from '../k8s/events';
import type { KubeObject } from '../k8s/object';
import type { ReconcileOutcome } from '../k8s/workqueue';
import type { ControlPlaneMetrics } from '../metrics';
import type { ClusterCache } from './cache';
import type { ReconcilerKind } from './watches';

export interface OutcomeReporterDeps {
  readonly metrics: ControlPlaneMetrics;
  readonly logger: Logger;
  readonly events: EventRecorder;
  /** The object a key names, to attach the Event to. */
  readonly object: (key: string) => KubeObject | undefined;
}

export function reconcileOutcomeReporter(kind: ReconcilerKind, deps: OutcomeReporterDeps) {
  return (key: string, result: ReconcileOutcome, ms: number, err?: unknown): void => {
    deps.metrics.reconciles.inc({ kind, result });
    deps.metrics.reconcileSeconds.observe({ kind }, ms / 1000);
    if (result !== 'error' && result !== 'terminal') return;
    if (isConflict(err)) {
      deps.logger.debug({ kind, object: key, err: (err as Error)?.message }, 'reconcile conflict, retrying');
      return;
    }
    deps.logger.warn({ kind, object: key, err: (err as Error)?.message }, 'reconcile failed');
    // Tell the user too (the recorder drops repeats of the same message for a minute).
    const obj = deps.object(key);
    if (obj) deps.events.record(obj, 'Warning', 'ReconcileFailed', (err as Error)?.message ?? String(err));
  };
}

/** The cached object a reconciler's key names (the policy reporter's key names none). */
export function reconciledObject(
  cache: ClusterCache,
  kind: ReconcilerKind,
  key: string,
): KubeObject | undefined {
  switch (kind) {
    case 'import':
      return cache.imports.get(key);
    case 'export':
      return cache.exports.get(key);
    case 'peer':
      return cache.peers.get(key);
    default:
      return undefined;
  }
}
