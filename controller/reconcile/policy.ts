/** Reports invalid access policies (an Event and a log line); the engine itself skips them. */
import { PolicyEngine } from '../../kernel/policy/engine';
import type { PolicyObject } from '../../kernel/policy/types';
import type { AccessPolicy, PrivilegedAccessPolicy } from '../../imports/clusterlink.net.types';
import type { EventSink } from '../k8s/events';
import type { Logger } from '../../kernel/log';
import type { ClusterCache } from './cache';

export function policyObjects(cache: ClusterCache): PolicyObject[] {
  const out: PolicyObject[] = [];
  for (const p of cache.privilegedAccessPolicies.list()) {
    out.push({ name: p.metadata.name, spec: p.spec as PolicyObject['spec'] });
  }
  for (const p of cache.accessPolicies.list()) {
    out.push({
      name: p.metadata.name,
      namespace: p.metadata.namespace,
      spec: p.spec as PolicyObject['spec'],
    });
  }
  out.sort((a, b) => `${a.namespace ?? ''}/${a.name}`.localeCompare(`${b.namespace ?? ''}/${b.name}`));
  return out;
}

export class PolicyReporter {
  /** key@generation already reported. */
  private readonly reported = new Set<string>();

  constructor(private readonly o: { cache: ClusterCache; events: EventSink; logger?: Logger }) {}

  reconcile(): void {
    const engine = new PolicyEngine(policyObjects(this.o.cache));
    const live = new Set<string>();
    for (const { policy, error } of engine.invalid) {
      const obj: AccessPolicy | PrivilegedAccessPolicy | undefined = policy.namespace
        ? this.o.cache.accessPolicies.get(`${policy.namespace}/${policy.name}`)
        : this.o.cache.privilegedAccessPolicies.get(policy.name);
      if (!obj) continue;
      const id = `${obj.kind}/${policy.namespace ?? ''}/${policy.name}@${obj.metadata.generation ?? 0}`;
      live.add(id);
      if (this.reported.has(id)) continue;
      this.reported.add(id);
      this.o.logger?.warn(
        { policy: `${policy.namespace ?? ''}/${policy.name}`, error },
        'invalid access policy ignored',
      );
      this.o.events.record(obj, 'Warning', 'InvalidPolicy', `policy ignored: ${error}`);
    }
    for (const id of [...this.reported]) if (!live.has(id)) this.reported.delete(id);
  }
}
