/** Descriptions of the API resources the control plane reads and writes, and their REST paths. */
import { API_GROUP, API_VERSION } from '../../kernel/api/labels';

export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

function crd(kind: string, plural: string, namespaced = true): ResourceType {
  return { group: API_GROUP, version: API_VERSION, plural, kind, namespaced };
}

export const Resources = {
  peer: crd('Peer', 'peers'),
  export: crd('Export', 'exports'),
  import: crd('Import', 'imports'),
  accessPolicy: crd('AccessPolicy', 'accesspolicies'),
  privilegedAccessPolicy: crd('PrivilegedAccessPolicy', 'privilegedaccesspolicies', false),
  service: { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  pod: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  event: { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  endpointSlice: {
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    kind: 'EndpointSlice',
    namespaced: true,
  },
  lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
} as const satisfies Record<string, ResourceType>;

export function apiVersionOf(resource: ResourceType): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

/** Path of the collection; `namespace` undefined = all namespaces (or a cluster-scoped resource). */
export function collectionPath(resource: ResourceType, namespace?: string): string {
  const prefix = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  if (resource.namespaced && namespace !== undefined) {
    return `${prefix}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`;
  }
  return `${prefix}/${resource.plural}`;
}

export function objectPath(resource: ResourceType, namespace: string | undefined, name: string): string {
  return `${collectionPath(resource, resource.namespaced ? (namespace ?? 'default') : undefined)}/${encodeURIComponent(name)}`;
}
