/**
 * Label selectors compiled for matching attribute maps without allocating (Kubernetes semantics:
 * requirements are ANDed, an empty selector matches everything, `NotIn` and `DoesNotExist` match
 * when the key is absent).
 */
import { ClusterLinkError } from '../errors';
import type { Attributes, LabelSelector } from './types';

export enum Op {
  Equals,
  In,
  NotIn,
  Exists,
  DoesNotExist,
}

export interface Requirement {
  readonly key: string;
  readonly op: Op;
  /** Accepted (In, Equals) or refused (NotIn) values; empty for Exists / DoesNotExist. */
  readonly values: readonly string[];
}

export interface CompiledSelector {
  readonly requirements: readonly Requirement[];
}

const OPERATORS: Readonly<Record<string, Op>> = {
  In: Op.In,
  NotIn: Op.NotIn,
  Exists: Op.Exists,
  DoesNotExist: Op.DoesNotExist,
};

const hasOwn = Object.prototype.hasOwnProperty;

/** The value of `key` in `attrs`, ignoring inherited properties such as `constructor`. */
export function attribute(attrs: Attributes, key: string): string | undefined {
  if (!hasOwn.call(attrs, key)) return undefined;
  const value = attrs[key];
  return typeof value === 'string' ? value : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Returns the canonical (internalized) copy of a string. In V8, a property lookup with a string
 * built at run time (a YAML value, a concatenation) goes through a slow path that interns the key
 * first; property names of an object are interned once. decide() looks keys up constantly.
 */
export function internalize(key: string): string {
  const holder: Record<string, true> = { [key]: true };
  for (const name in holder) return name;
  return key;
}

function checkKey(key: unknown, where: string): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new SelectorError(`${where}: key must be a non-empty string`);
  }
  return internalize(key);
}

/** Thrown only while compiling; the engine turns it into an `invalid` entry. */
export class SelectorError extends ClusterLinkError {
  constructor(message: string) {
    super('CL_ERR_POLICY_INVALID', message);
  }
}

/**
 * Validates an untrusted selector and compiles it. Keys are any non-empty string: attribute keys
 * such as `client.clusterlink.net/labels.app.kubernetes.io/name` are not Kubernetes qualified
 * names, yet users need to select on them.
 */
export function compileSelector(selector: unknown, where: string): CompiledSelector {
  if (!isPlainObject(selector)) throw new SelectorError(`${where}: must be an object`);
  const requirements: Requirement[] = [];
  const { matchLabels, matchExpressions } = selector as LabelSelector & Record<string, unknown>;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isPlainObject(matchLabels))
      throw new SelectorError(`${where}.matchLabels: must be a map of strings`);
    for (const rawKey of Object.keys(matchLabels)) {
      const key = checkKey(rawKey, `${where}.matchLabels`);
      const value: unknown = matchLabels[rawKey];
      if (typeof value !== 'string') {
        throw new SelectorError(`${where}.matchLabels[${JSON.stringify(key)}]: value must be a string`);
      }
      requirements.push({ key, op: Op.Equals, values: [value] });
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions))
      throw new SelectorError(`${where}.matchExpressions: must be a list`);
    matchExpressions.forEach((expression: unknown, index) => {
      const at = `${where}.matchExpressions[${index}]`;
      if (!isPlainObject(expression)) throw new SelectorError(`${at}: must be an object`);
      const key = checkKey(expression.key, at);
      const operator = expression.operator;
      const op =
        typeof operator === 'string' && hasOwn.call(OPERATORS, operator) ? OPERATORS[operator] : undefined;
      if (op === undefined) {
        throw new SelectorError(
          `${at}: operator ${JSON.stringify(operator)} is not one of In, NotIn, Exists, DoesNotExist`,
        );
      }
      const rawValues = expression.values ?? [];
      if (!Array.isArray(rawValues) || rawValues.some((v) => typeof v !== 'string')) {
        throw new SelectorError(`${at}: values must be a list of strings`);
      }
      const values = rawValues as string[];
      if ((op === Op.In || op === Op.NotIn) && values.length === 0) {
        throw new SelectorError(`${at}: operator ${operator} needs at least one value`);
      }
      if ((op === Op.Exists || op === Op.DoesNotExist) && values.length > 0) {
        throw new SelectorError(`${at}: operator ${operator} takes no values`);
      }
      requirements.push({ key, op, values: [...new Set(values)] });
    });
  }
  return { requirements };
}

function matchesRequirement(requirement: Requirement, attrs: Attributes): boolean {
  const value = attribute(attrs, requirement.key);
  switch (requirement.op) {
    case Op.Equals:
      return value === requirement.values[0];
    case Op.In:
      return value !== undefined && requirement.values.includes(value);
    case Op.NotIn:
      return value === undefined || !requirement.values.includes(value);
    case Op.Exists:
      return value !== undefined;
    case Op.DoesNotExist:
      return value === undefined;
  }
}

export function matchesSelector(selector: CompiledSelector, attrs: Attributes): boolean {
  const requirements = selector.requirements;
  for (let i = 0; i < requirements.length; i++) {
    if (!matchesRequirement(requirements[i], attrs)) return false;
  }
  return true;
}

/** True when any selector of the list matches (items of `from` / `to` are ORed). */
export function matchesAny(selectors: readonly CompiledSelector[], attrs: Attributes): boolean {
  for (let i = 0; i < selectors.length; i++) {
    if (matchesSelector(selectors[i], attrs)) return true;
  }
  return false;
}

/**
 * Keys that every selector of the list pins to a finite set of values (by matchLabels or In), with
 * the union of those values: an attribute map can match the list only if its value for such a key
 * is in the set. The engine indexes policies by one of these keys.
 */
export function pinnedKeys(selectors: readonly CompiledSelector[]): Map<string, Set<string>> {
  let result: Map<string, Set<string>> | undefined;
  for (const selector of selectors) {
    const pinned = new Map<string, Set<string>>();
    for (const requirement of selector.requirements) {
      if (requirement.op !== Op.Equals && requirement.op !== Op.In) continue;
      // Several requirements on one key are ANDed: the values allowed are their intersection.
      const existing = pinned.get(requirement.key);
      const values = new Set(requirement.values);
      pinned.set(requirement.key, existing ? new Set([...existing].filter((v) => values.has(v))) : values);
    }
    if (result === undefined) {
      result = pinned;
      continue;
    }
    for (const [key, values] of result) {
      const other = pinned.get(key);
      if (other === undefined) result.delete(key);
      else for (const v of other) values.add(v);
    }
  }
  return result ?? new Map();
}

/** True when some requirement of some selector looks at a key starting with `prefix`. */
export function referencesPrefix(selectors: readonly CompiledSelector[], prefix: string): boolean {
  return selectors.some((s) => s.requirements.some((r) => r.key.startsWith(prefix)));
}
