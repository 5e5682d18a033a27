/** Metadata of the ClusterLink objects the constructs write: only the fields that were given. */
import type { ApiObjectMetadata } from 'cdk8s';

export function objectMetadata(fields: {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
}): ApiObjectMetadata {
  return {
    ...(fields.name !== undefined ? { name: fields.name } : {}),
    ...(fields.namespace !== undefined ? { namespace: fields.namespace } : {}),
    ...(fields.labels ? { labels: { ...fields.labels } } : {}),
  };
}
