/**
 * Kubernetes Events (core/v1) for state changes and errors. Recording is best effort: a failure
 * is logged and never fails the reconcile that wanted to tell the user something. Repeats of the
 * same event on the same object within a window are dropped so a broken object cannot flood.
 */
import type { Logger } from '../../kernel/log';
import type { KubeClient } from './client';
import type { KubeObject } from './object';
import { collectionPath, Resources } from './resources';

export type EventType = 'Normal' | 'Warning';

export interface EventSink {
  record(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export class EventRecorder implements EventSink {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly options: { component: string; instance: string; logger?: Logger; dedupeMs?: number },
  ) {}

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const dedupeKey = `${obj.kind}/${namespace}/${meta.name}/${reason}/${message}`;
    const now = Date.now();
    const last = this.recent.get(dedupeKey);
    if (last !== undefined && now - last < (this.options.dedupeMs ?? 60_000)) return;
    this.recent.set(dedupeKey, now);
    if (this.recent.size > 10_000) {
      for (const [k, t] of this.recent)
        if (now - t > (this.options.dedupeMs ?? 60_000)) this.recent.delete(k);
    }
    const time = new Date(now).toISOString();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${meta.name ?? 'object'}.`, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type,
      reason,
      message: message.slice(0, 1024),
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source: { component: this.options.component },
      reportingComponent: this.options.component,
      reportingInstance: this.options.instance,
    };
    this.client.create(collectionPath(Resources.event, namespace), event).catch((err: Error) => {
      this.options.logger?.debug({ err: err.message, reason }, 'could not record event');
    });
  }
}
