import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import * as cl from '../imports/clusterlink.net';
import type { AccessPolicySpec, WorkloadSetOrSelector } from '../imports/clusterlink.net.types';
import { POLICY_ACTIONS } from './crds/kinds';
import { checkDnsLabel, checkLabels, checkObjectName, defined } from './validation';
import { checkWorkloads } from './workloads';
import { objectMetadata } from './metadata';

export type PolicyAction = AccessPolicySpec['action'];

/** Properties of {@link AccessPolicy} and {@link PrivilegedAccessPolicy}. */
export interface PolicyProps {
  /** @default - generated from the construct path */
  readonly name?: string;
  /** Whether matching connections are allowed or denied. */
  readonly action: PolicyAction;
  /** Sources; at least one (see {@link Workloads}). */
  readonly from: readonly WorkloadSetOrSelector[];
  /** Destinations; at least one (see {@link Workloads}). */
  readonly to: readonly WorkloadSetOrSelector[];
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Properties of {@link AccessPolicy}. */
export interface AccessPolicyProps extends PolicyProps {
  /**
   * The namespace the policy counts in: the Import's on the importing side, the Export's on the
   * exporting side.
   * @default - the Chart's namespace
   */
  readonly namespace?: string;
}

export function policyErrors(kind: string, props: PolicyProps, namespace?: string): string[] {
  const what = `${kind} "${props.name ?? '(generated name)'}"`;
  return [
    ...defined([
      props.name !== undefined ? checkObjectName(`${kind} name`, props.name) : undefined,
      namespace !== undefined ? checkDnsLabel(`${what} namespace`, namespace) : undefined,
      !POLICY_ACTIONS.includes(props.action)
        ? `${what} action "${props.action}" is unknown; use allow or deny`
        : undefined,
    ]),
    ...checkWorkloads(`${what} from`, props.from),
    ...checkWorkloads(`${what} to`, props.to),
    ...checkLabels(`${what} label`, props.labels),
  ];
}

export function policySpec(props: PolicyProps): cl.AccessPolicySpec {
  const spec: AccessPolicySpec = { action: props.action, from: props.from, to: props.to };
  // The generated construct types spell enums as TypeScript enums; the JSON is the same.
  return spec as unknown as cl.AccessPolicySpec;
}

/** Allows or denies connections, counted in its namespace only. */
export class AccessPolicy extends Construct {
  public readonly namespace?: string;
  public readonly resource: cl.AccessPolicy;

  constructor(scope: Construct, id: string, props: AccessPolicyProps) {
    super(scope, id);
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    this.resource = new cl.AccessPolicy(this, 'Resource', {
      metadata: objectMetadata({ name: props.name, namespace: this.namespace, labels: props.labels }),
      spec: policySpec(props),
    });
    this.node.addValidation({ validate: () => policyErrors('AccessPolicy', props, this.namespace) });
  }

  /** The object's name (given or generated). */
  public get name(): string {
    return this.resource.name;
  }
}
