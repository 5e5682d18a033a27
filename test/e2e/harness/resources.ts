/** Builders for the ClusterLink custom resources the scenarios apply (clusterlink.net/v1alpha1). */
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_GROUP_VERSION } from '../../../kernel/api/labels';
import type { LabelSelector } from '../../../kernel/policy/types';
import { GATEWAY_NAMESPACE } from './site';

export type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

export function peer(name: string, gateways: readonly { host: string; port: number }[]): Obj {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: 'Peer',
    metadata: { name, namespace: GATEWAY_NAMESPACE },
    spec: { gateways: gateways.map((g) => ({ ...g })) },
  };
}

export function exportOf(
  namespace: string,
  name: string,
  host: string,
  port: number,
  labels: Record<string, string> = {},
): Obj {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: 'Export',
    metadata: { name, namespace, labels },
    spec: { host, port },
  };
}

export interface Source {
  readonly peer: string;
  readonly exportName: string;
  readonly exportNamespace: string;
}

export function importOf(
  namespace: string,
  name: string,
  port: number,
  sources: readonly Source[],
  options: {
    targetPort?: number;
    lbScheme?: 'round-robin' | 'random' | 'static';
    labels?: Record<string, string>;
  } = {},
): Obj {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: 'Import',
    metadata: { name, namespace, labels: options.labels ?? {} },
    spec: {
      port,
      ...(options.targetPort !== undefined ? { targetPort: options.targetPort } : {}),
      lbScheme: options.lbScheme ?? 'round-robin',
      sources: sources.map((s) => ({ ...s })),
    },
  };
}

export function accessPolicy(
  namespace: string | undefined,
  name: string,
  action: 'allow' | 'deny',
  from: LabelSelector = {},
  to: LabelSelector = {},
): Obj {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: namespace === undefined ? 'PrivilegedAccessPolicy' : 'AccessPolicy',
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec: { action, from: [{ workloadSelector: from }], to: [{ workloadSelector: to }] },
  };
}

export function allowAll(namespace: string, name = 'allow-all'): Obj {
  return accessPolicy(namespace, name, 'allow');
}

export interface ConditionView {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export function conditionOf(object: Obj | undefined, type: string): ConditionView | undefined {
  const conditions = (object?.status?.conditions ?? []) as ConditionView[];
  return conditions.find((c) => c.type === type);
}
