import { ApiObject } from 'cdk8s';
import { clusterScoped } from './cluster-scoped';
import { Construct } from 'constructs';
import { customResourceDefinition } from './crds/definition';
import { ALL_KINDS } from './crds/kinds';

/** Properties of {@link ClusterLinkCrds}. */
export interface ClusterLinkCrdsProps {
  /**
   * Extra labels on every CustomResourceDefinition.
   * @default - only app.kubernetes.io/part-of=clusterlink
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The CustomResourceDefinitions of clusterlink.net/v1alpha1: Peer, Export, Import, AccessPolicy and
 * PrivilegedAccessPolicy. CRDs are cluster-scoped: they never carry a namespace, whatever the Chart's.
 */
export class ClusterLinkCrds extends Construct {
  /** The CRD objects, keyed by kind. */
  public readonly definitions: Readonly<Record<string, ApiObject>>;

  constructor(scope: Construct, id: string, props: ClusterLinkCrdsProps = {}) {
    super(scope, id);
    const definitions: Record<string, ApiObject> = {};
    for (const kind of ALL_KINDS) {
      const manifest = customResourceDefinition(kind) as {
        apiVersion: string;
        kind: string;
        metadata: { name: string; labels: Record<string, string> };
        spec: unknown;
      };
      definitions[kind.kind] = clusterScoped(
        new ApiObject(this, kind.kind, {
          apiVersion: manifest.apiVersion,
          kind: manifest.kind,
          metadata: { ...manifest.metadata, labels: { ...manifest.metadata.labels, ...props.labels } },
          spec: manifest.spec,
        }),
      );
    }
    this.definitions = definitions;
  }
}
