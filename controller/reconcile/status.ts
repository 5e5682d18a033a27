/** Writing status through the status subresource, only when it says something new. */
import type { KubeClient } from '../k8s/client';
import type { EventSink } from '../k8s/events';
import type { KubeObject } from '../k8s/object';
import { objectPath, type ResourceType } from '../k8s/resources';
import {
  conditionTransitions,
  sameConditions,
  setCondition,
  type Condition,
  type ConditionInput,
} from './conditions';

interface WithConditions extends KubeObject {
  status?: { readonly conditions?: readonly Condition[] };
}

/**
 * Sets `inputs` on the object's conditions (observedGeneration = metadata.generation) and patches
 * status when anything changed; records an Event per transition. Returns whether it wrote.
 */
export async function writeConditions(
  client: KubeClient,
  events: EventSink,
  resource: ResourceType,
  obj: WithConditions,
  inputs: readonly ConditionInput[],
  extraStatus: Record<string, unknown> = {},
  now: Date = new Date(),
): Promise<boolean> {
  const before = obj.status?.conditions;
  let next = [...(before ?? [])];
  for (const input of inputs) next = setCondition(next, input, obj.metadata?.generation, now);
  const extraChanged = Object.entries(extraStatus).some(
    ([k, v]) =>
      JSON.stringify((obj.status as Record<string, unknown> | undefined)?.[k] ?? null) !==
      JSON.stringify(v ?? null),
  );
  if (sameConditions(before, next) && !extraChanged) return false;
  const path = objectPath(resource, obj.metadata?.namespace, obj.metadata!.name!);
  // No resourceVersion precondition: only the leader writes status, and every write comes back as
  // a watch event that re-runs the reconcile, so a write from a cache a moment behind is corrected
  // at once instead of failing with a conflict and waiting out a backoff.
  await client.mergePatch(`${path}/status`, { status: { ...extraStatus, conditions: next } });
  for (const c of conditionTransitions(before, next)) {
    events.record(
      obj,
      c.status === 'False' ? 'Warning' : 'Normal',
      c.reason,
      `${c.type}=${c.status}: ${c.message}`,
    );
  }
  return true;
}
