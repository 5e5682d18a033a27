/** API group and version of every ClusterLink custom resource. */
export const API_GROUP = 'clusterlink.net';
export const API_VERSION = 'v1alpha1';
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** Label on every object the control plane creates. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'clusterlink.net';
/** Labels naming the Import that owns a Service or EndpointSlice we created. */
export const OWNER_IMPORT_NAME_LABEL = 'import.clusterlink.net/name';
export const OWNER_IMPORT_NAMESPACE_LABEL = 'import.clusterlink.net/namespace';
/** On an Import: add endpoints to the user's existing Service instead of creating one. */
export const IMPORT_MERGE_LABEL = 'import.clusterlink.net/merge';

/** Policy attribute names (DESIGN.md section 4). */
export const Attr = {
  peerName: 'peer.clusterlink.net/name',
  peerLabelPrefix: 'peer.clusterlink.net/labels.',
  clientNamespace: 'client.clusterlink.net/namespace',
  clientServiceAccount: 'client.clusterlink.net/service-account',
  clientLabelPrefix: 'client.clusterlink.net/labels.',
  exportName: 'export.clusterlink.net/name',
  exportNamespace: 'export.clusterlink.net/namespace',
  exportLabelPrefix: 'export.clusterlink.net/labels.',
} as const;

/** Condition types written to status. */
export const Condition = {
  peerReachable: 'PeerReachable',
  exportValid: 'ExportValid',
  importTargetPortValid: 'ImportTargetPortValid',
  importServiceValid: 'ImportServiceValid',
} as const;

/** HTTP header carrying the base64(JSON) peer labels on GET /healthz (upstream-compatible). */
export const PEER_LABELS_HEADER = 'ClusterLinkPeerLabels';
