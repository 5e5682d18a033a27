import { Construct } from 'constructs';
import * as cl from '../imports/clusterlink.net';
import { PolicyProps, policyErrors, policySpec } from './access-policy';
import { clusterScoped } from './cluster-scoped';
import { objectMetadata } from './metadata';

/** Properties of {@link PrivilegedAccessPolicy}. */
export type PrivilegedAccessPolicyProps = PolicyProps;

/** A cluster-wide policy, evaluated before every namespaced AccessPolicy. */
export class PrivilegedAccessPolicy extends Construct {
  public readonly resource: cl.PrivilegedAccessPolicy;

  constructor(scope: Construct, id: string, props: PrivilegedAccessPolicyProps) {
    super(scope, id);
    this.resource = clusterScoped(
      new cl.PrivilegedAccessPolicy(this, 'Resource', {
        metadata: objectMetadata({ name: props.name, labels: props.labels }),
        spec: policySpec(props) as unknown as cl.PrivilegedAccessPolicySpec,
      }),
    );
    this.node.addValidation({ validate: () => policyErrors('PrivilegedAccessPolicy', props) });
  }

  /** The object's name (given or generated). */
  public get name(): string {
    return this.resource.name;
  }
}
