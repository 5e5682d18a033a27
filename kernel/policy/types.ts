/** Policy types shared by the control plane and the data plane (DESIGN.md section 4). */

/** A flat attribute map, e.g. `{ 'peer.clusterlink.net/name': 'east' }`. */
export type Attributes = Readonly<Record<string, string>>;

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values?: readonly string[];
}

/** A Kubernetes LabelSelector. An empty selector matches everything. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

/** Exactly one of the two fields is set (enforced by the CRD schema, re-checked by the engine). */
export interface WorkloadSetOrSelector {
  readonly workloadSets?: readonly string[];
  readonly workloadSelector?: LabelSelector;
}

export type PolicyAction = 'allow' | 'deny';

export interface AccessPolicySpec {
  readonly action: PolicyAction;
  readonly from: readonly WorkloadSetOrSelector[];
  readonly to: readonly WorkloadSetOrSelector[];
}

/**
 * An AccessPolicy (namespace set) or a PrivilegedAccessPolicy (namespace absent).
 */
export interface PolicyObject {
  readonly name: string;
  readonly namespace?: string;
  readonly spec: AccessPolicySpec;
}
