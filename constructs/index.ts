/**
 * The ClusterLink construct library for cdk8s apps: `import { ClusterLinkGateway, Fabric } from 'clusterlink'`.
 */
export * from './conventions';
export * from './crds';
export * from './gateway';
export * from './peer';
export * from './export';
export * from './import';
export * from './access-policy';
export * from './privileged-access-policy';
export * from './workloads';
export * from './fabric';
export { LB_SCHEMES, POLICY_ACTIONS } from './crds/kinds';
export type {
  AccessPolicySpec,
  Condition,
  ExportSpec,
  ExportStatus,
  ImportSource,
  ImportSpec,
  ImportStatus,
  LabelSelector,
  LabelSelectorRequirement,
  PeerGateway,
  PeerSpec,
  PeerStatus,
  PrivilegedAccessPolicySpec,
  WorkloadSetOrSelector,
} from '../imports/clusterlink.net.types';
