/**
 * The access-policy decision point (DESIGN.md section 4), shared by the control plane and the data
 * plane. Pure: no I/O, and `decide()` allocates nothing (every possible Decision is built up front).
 *
 * Semantics follow upstream ClusterLink's connectivity PDP:
 * - a policy matches when some `from` item matches the source AND some `to` item matches the
 *   destination (items of a list are ORed; each item is a Kubernetes label selector over the flat
 *   attribute map);
 * - tiers in order, the first tier with a match decides: privileged deny, privileged allow,
 *   namespaced deny, namespaced allow, default deny;
 * - namespaced policies count only in the relevant namespace (the Import's on the importing side,
 *   the Export's on the exporting side);
 * - `workloadSets` is not supported (upstream refuses it too): such a policy is invalid;
 * - if the client could not be identified (the source carries no `client.clusterlink.net/...`
 *   attribute) and the verdict of a relevant policy on this connection hinges on client attributes
 *   (its `to` matches, and a `from` item that selects on client attributes matches once those
 *   requirements are set aside), the connection is denied: otherwise a deny keyed on client labels
 *   would be silently bypassed. Upstream applies this guard whenever any policy has a non-empty
 *   `from` selector; we narrow it to policies that could match this connection, because our source
 *   attributes also carry peer attributes that do not depend on identifying the client.
 *
 * Within a tier several policies may match; the one reported is the first by name (for namespaced
 * policies: by namespace, then name), so explanations are deterministic.
 */
import type { Attributes, PolicyObject } from './types';
import {
  attribute,
  compileSelector,
  matchesAny,
  pinnedKeys,
  referencesPrefix,
  SelectorError,
} from './selector';
import type { CompiledSelector } from './selector';

export interface PolicyRef {
  kind: 'PrivilegedAccessPolicy' | 'AccessPolicy';
  name: string;
  namespace?: string;
}

/** Which rule decided: a policy tier, the default deny, or the unidentified-client guard. */
export type DecisionTier =
  | 'privileged-deny'
  | 'privileged-allow'
  | 'namespaced-deny'
  | 'namespaced-allow'
  | 'default-deny'
  | 'client-unidentified';

export interface Decision {
  action: 'allow' | 'deny';
  /** The policy that decided; absent = default deny. For `client-unidentified`: the policy that needs client attributes. */
  policy?: PolicyRef;
  /** One human sentence explaining the decision. */
  reason: string;
  tier: DecisionTier;
}

export interface InvalidPolicy {
  policy: PolicyObject;
  error: string;
}

/** Attribute keys under this prefix describe the client workload (DESIGN.md section 4). */
export const CLIENT_ATTRIBUTE_PREFIX = 'client.clusterlink.net/';
const CLIENT_NAMESPACE = 'client.clusterlink.net/namespace';
const CLIENT_SERVICE_ACCOUNT = 'client.clusterlink.net/service-account';

/**
 * Index keys tried first, most selective first: a policy is filed under the first of these that
 * every item of its `to` (else `from`) list pins to fixed values.
 */
const PREFERRED_INDEX_KEYS = [
  'export.clusterlink.net/name',
  'peer.clusterlink.net/name',
  'export.clusterlink.net/namespace',
  CLIENT_NAMESPACE,
  CLIENT_SERVICE_ACCOUNT,
];

export const DEFAULT_DENY: Readonly<Decision> = Object.freeze({
  action: 'deny',
  reason: 'no policy allows the connection (default deny)',
  tier: 'default-deny',
});

interface CompiledPolicy {
  /** Position in the deterministic order (namespace, name); lower wins within a tier. */
  ordinal: number;
  readonly ref: PolicyRef;
  readonly from: readonly CompiledSelector[];
  readonly to: readonly CompiledSelector[];
  /**
   * The `from` items that select on client attributes, with those requirements removed: if one of
   * them matches the source (and `to` matches) the policy's verdict hinges on the client. Empty
   * when the policy ignores client attributes.
   */
  readonly clientFrom: readonly CompiledSelector[];
  /** Where the policy is filed (see chooseIndex); absent = checked on every decision. */
  readonly index?: readonly IndexEntry[];
  decision: Readonly<Decision>;
  guardDecision: Readonly<Decision>;
}

const SOURCE_SIDE = 0;
const DESTINATION_SIDE = 1;
type Side = typeof SOURCE_SIDE | typeof DESTINATION_SIDE;

function describe(ref: PolicyRef): string {
  return ref.namespace === undefined
    ? `${ref.kind} "${ref.name}"`
    : `${ref.kind} "${ref.namespace}/${ref.name}"`;
}

interface IndexEntry {
  readonly side: Side;
  readonly key: string;
  readonly values: ReadonlySet<string>;
}

function preferredKey(pinned: ReadonlyMap<string, unknown>): string {
  return PREFERRED_INDEX_KEYS.find((k) => pinned.has(k)) ?? [...pinned.keys()].sort()[0];
}

/**
 * Files a policy under attribute values that any matching connection must carry: a key that every
 * item of `to` (else `from`) pins to fixed values, or failing that one pinned key per item (the
 * items are ORed, so the policy goes into one bucket per item). A policy with an item that pins
 * nothing on either side is left unindexed.
 */
function chooseIndex(
  from: readonly CompiledSelector[],
  to: readonly CompiledSelector[],
): IndexEntry[] | undefined {
  for (const [side, selectors] of [
    [DESTINATION_SIDE, to],
    [SOURCE_SIDE, from],
  ] as const) {
    const common = pinnedKeys(selectors);
    if (common.size > 0) {
      const key = preferredKey(common);
      return [{ side, key, values: common.get(key)! }];
    }
    const perItem = selectors.map((selector) => pinnedKeys([selector]));
    if (perItem.some((pinned) => pinned.size === 0)) continue;
    const merged = new Map<string, Set<string>>();
    for (const pinned of perItem) {
      const key = preferredKey(pinned);
      const values = merged.get(key) ?? new Set<string>();
      for (const value of pinned.get(key)!) values.add(value);
      merged.set(key, values);
    }
    return [...merged].map(([key, values]) => ({ side, key, values }));
  }
  return undefined;
}

function compileList(list: unknown, where: string): CompiledSelector[] {
  if (!Array.isArray(list) || list.length === 0)
    throw new SelectorError(`${where}: must list at least one item`);
  return list.map((item: unknown, index) => {
    const at = `${where}[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new SelectorError(`${at}: must be an object`);
    }
    const { workloadSets, workloadSelector } = item as Record<string, unknown>;
    const hasSets = Array.isArray(workloadSets) ? workloadSets.length > 0 : workloadSets != null;
    const hasSelector = workloadSelector != null;
    if (hasSets === hasSelector) {
      throw new SelectorError(`${at}: exactly one of workloadSets or workloadSelector must be set`);
    }
    if (hasSets) throw new SelectorError(`${at}: workloadSets are not supported; use workloadSelector`);
    return compileSelector(workloadSelector, `${at}.workloadSelector`);
  });
}

/** Validates one untrusted policy object; returns it compiled, or throws SelectorError. */
function compilePolicy(policy: PolicyObject): CompiledPolicy {
  if (typeof policy !== 'object' || policy === null) throw new SelectorError('policy must be an object');
  if (typeof policy.name !== 'string' || policy.name.length === 0) {
    throw new SelectorError('metadata.name must be a non-empty string');
  }
  if (policy.namespace !== undefined && typeof policy.namespace !== 'string') {
    throw new SelectorError('metadata.namespace must be a string');
  }
  const spec = policy.spec as unknown;
  if (typeof spec !== 'object' || spec === null) throw new SelectorError('spec must be an object');
  const { action, from, to } = spec as Record<string, unknown>;
  if (action !== 'allow' && action !== 'deny') {
    throw new SelectorError(`spec.action: ${JSON.stringify(action)} is not one of allow, deny`);
  }
  const compiledFrom = compileList(from, 'spec.from');
  const compiledTo = compileList(to, 'spec.to');
  const privileged = policy.namespace === undefined || policy.namespace === '';
  const ref: PolicyRef = privileged
    ? { kind: 'PrivilegedAccessPolicy', name: policy.name }
    : { kind: 'AccessPolicy', name: policy.name, namespace: policy.namespace };
  const tier: DecisionTier = `${privileged ? 'privileged' : 'namespaced'}-${action}`;
  const verb = action === 'allow' ? 'allowed' : 'denied';
  return {
    ordinal: 0,
    ref,
    from: compiledFrom,
    to: compiledTo,
    clientFrom: compiledFrom
      .filter((selector) => referencesPrefix([selector], CLIENT_ATTRIBUTE_PREFIX))
      .map((selector) => ({
        requirements: selector.requirements.filter((r) => !r.key.startsWith(CLIENT_ATTRIBUTE_PREFIX)),
      })),
    index: chooseIndex(compiledFrom, compiledTo),
    decision: Object.freeze({
      action,
      policy: Object.freeze(ref),
      reason: `${verb} by ${describe(ref)} (${tier.replace('-', ' ')} tier)`,
      tier,
    }),
    guardDecision: Object.freeze({
      action: 'deny',
      policy: Object.freeze(ref),
      reason: `denied: the client could not be identified and ${describe(ref)} selects on client attributes`,
      tier: 'client-unidentified',
    }),
  };
}

interface KeyIndex {
  readonly side: Side;
  readonly key: string;
  /** Policies by attribute value, each list in ordinal order. */
  readonly buckets: Map<string, CompiledPolicy[]>;
}

/** The policies of one action in one tier, indexed so a decision looks at few of them. */
class TierPolicies {
  /** Policies no key narrows down: checked on every decision. */
  private readonly unindexed: CompiledPolicy[] = [];
  private readonly indexes: KeyIndex[] = [];

  /** Must be called in ordinal order. */
  add(policy: CompiledPolicy): void {
    if (policy.index === undefined) {
      this.unindexed.push(policy);
      return;
    }
    for (const entry of policy.index) {
      let index = this.indexes.find((i) => i.side === entry.side && i.key === entry.key);
      if (index === undefined) {
        index = { side: entry.side, key: entry.key, buckets: new Map() };
        this.indexes.push(index);
      }
      for (const value of entry.values) {
        const bucket = index.buckets.get(value);
        if (bucket) bucket.push(policy);
        else index.buckets.set(value, [policy]);
      }
    }
  }

  /** The first policy (by ordinal) matching the connection, if any. */
  find(source: Attributes, destination: Attributes): CompiledPolicy | undefined {
    let best: CompiledPolicy | undefined;
    const unindexed = this.unindexed;
    for (let i = 0; i < unindexed.length; i++) {
      const policy = unindexed[i];
      if (matchesAny(policy.to, destination) && matchesAny(policy.from, source)) {
        best = policy;
        break;
      }
    }
    const indexes = this.indexes;
    for (let i = 0; i < indexes.length; i++) {
      const index = indexes[i];
      const value = attribute(index.side === DESTINATION_SIDE ? destination : source, index.key);
      if (value === undefined) continue;
      const bucket = index.buckets.get(value);
      if (bucket === undefined) continue;
      for (let j = 0; j < bucket.length; j++) {
        const policy = bucket[j];
        if (best !== undefined && policy.ordinal >= best.ordinal) break;
        if (matchesAny(policy.to, destination) && matchesAny(policy.from, source)) {
          best = policy;
          break;
        }
      }
    }
    return best;
  }
}

/** Privileged policies, or the namespaced policies of one namespace. */
class PolicyGroup {
  readonly deny = new TierPolicies();
  readonly allow = new TierPolicies();
  /** Policies that select on client attributes, in ordinal order (for the unidentified-client guard). */
  readonly clientDependent: CompiledPolicy[] = [];

  add(policy: CompiledPolicy): void {
    (policy.decision.action === 'deny' ? this.deny : this.allow).add(policy);
    if (policy.clientFrom.length > 0) this.clientDependent.push(policy);
  }

  /** The first policy whose verdict on this connection would depend on the (unknown) client. */
  undecidable(source: Attributes, destination: Attributes): CompiledPolicy | undefined {
    const policies = this.clientDependent;
    for (let i = 0; i < policies.length; i++) {
      const policy = policies[i];
      if (matchesAny(policy.to, destination) && matchesAny(policy.clientFrom, source)) return policy;
    }
    return undefined;
  }
}

const EMPTY: Attributes = Object.freeze({});

/** True when the source carries any client attribute, i.e. the client workload was identified. */
function clientIdentified(source: Attributes): boolean {
  if (attribute(source, CLIENT_NAMESPACE) !== undefined) return true;
  if (attribute(source, CLIENT_SERVICE_ACCOUNT) !== undefined) return true;
  for (const key in source) {
    if (key.startsWith(CLIENT_ATTRIBUTE_PREFIX) && attribute(source, key) !== undefined) return true;
  }
  return false;
}

function orderKey(policy: CompiledPolicy): string {
  return `${policy.ref.namespace ?? ''}\u0000${policy.ref.name}`;
}

export class PolicyEngine {
  /** Policies that failed validation, with the reason; they take no part in decisions. */
  readonly invalid: readonly InvalidPolicy[];
  /** Number of valid policies in use. */
  readonly size: number;
  private readonly privileged = new PolicyGroup();
  private readonly namespaced = new Map<string, PolicyGroup>();

  constructor(policies: readonly PolicyObject[]) {
    const invalid: InvalidPolicy[] = [];
    const compiled: CompiledPolicy[] = [];
    const seen = new Set<string>();
    for (const policy of policies ?? []) {
      let result: CompiledPolicy;
      try {
        result = compilePolicy(policy);
      } catch (err) {
        invalid.push({ policy, error: err instanceof Error ? err.message : String(err) });
        continue;
      }
      const identity = `${result.ref.kind}\u0000${orderKey(result)}`;
      if (seen.has(identity)) {
        invalid.push({ policy, error: `duplicate of an earlier ${describe(result.ref)}; ignored` });
        continue;
      }
      seen.add(identity);
      compiled.push(result);
    }
    compiled.sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : orderKey(a) > orderKey(b) ? 1 : 0));
    compiled.forEach((policy, ordinal) => {
      policy.ordinal = ordinal;
      const namespace = policy.ref.namespace;
      if (namespace === undefined) {
        this.privileged.add(policy);
        return;
      }
      let group = this.namespaced.get(namespace);
      if (group === undefined) {
        group = new PolicyGroup();
        this.namespaced.set(namespace, group);
      }
      group.add(policy);
    });
    this.invalid = Object.freeze(invalid);
    this.size = compiled.length;
  }

  /**
   * Decides a connection from `source` to `destination`; `namespace` is the relevant namespace
   * (the Import's on the importing side, the Export's on the exporting side). Never throws.
   */
  decide(source: Attributes, destination: Attributes, namespace: string): Decision {
    const src = source ?? EMPTY;
    const dst = destination ?? EMPTY;
    const group = this.namespaced.get(namespace);
    if (
      (this.privileged.clientDependent.length > 0 ||
        (group !== undefined && group.clientDependent.length > 0)) &&
      !clientIdentified(src)
    ) {
      const undecidable = this.privileged.undecidable(src, dst) ?? group?.undecidable(src, dst);
      if (undecidable !== undefined) return undecidable.guardDecision;
    }

    const found =
      this.privileged.deny.find(src, dst) ??
      this.privileged.allow.find(src, dst) ??
      group?.deny.find(src, dst) ??
      group?.allow.find(src, dst);
    return found === undefined ? DEFAULT_DENY : found.decision;
  }
}
