/** Standard status conditions (pure): setting one keeps lastTransitionTime unless the status changed. */
import type { Condition } from '../../imports/clusterlink.net.types';

export type { Condition };
export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/** Returns new conditions with `input` set; other types are kept as they are. */
export function setCondition(
  existing: readonly Condition[] | undefined,
  input: ConditionInput,
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(existing ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    observedGeneration,
    lastTransitionTime:
      prev && prev.status === input.status && prev.lastTransitionTime
        ? prev.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when both lists say the same thing (ignoring order and lastTransitionTime). */
export function sameConditions(
  a: readonly Condition[] | undefined,
  b: readonly Condition[] | undefined,
): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  return x.every((c) => {
    const d = y.find((o) => o.type === c.type);
    return (
      !!d &&
      d.status === c.status &&
      d.reason === c.reason &&
      d.message === c.message &&
      (d.observedGeneration ?? 0) === (c.observedGeneration ?? 0)
    );
  });
}

/**
 * Transitions worth an Event: a condition changed status or reason, or appeared in a state other
 * than True. A condition that starts out True is the normal path of a new object and would only
 * add API writes (three per Import) without telling the user anything status does not.
 */
export function conditionTransitions(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): Condition[] {
  return after.filter((c) => {
    const p = findCondition(before, c.type);
    if (!p) return c.status !== 'True';
    return p.status !== c.status || p.reason !== c.reason;
  });
}
