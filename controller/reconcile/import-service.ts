/**
 * The desired local objects of an Import (pure): what clients in the Import's namespace reach as
 * `<import>.<namespace>:<port>`.
 *
 * A Service selector cannot select pods of another namespace, and the data-plane pods live in the
 * gateway namespace. So the Service is selector-less and we write its EndpointSlice ourselves,
 * listing the data-plane pod IPs on the Import's target port (the data-plane listener). In merge
 * mode the user's Service is left alone and only our EndpointSlice is added to it.
 */
import { API_GROUP_VERSION, Condition, IMPORT_MERGE_LABEL, MANAGED_BY_VALUE } from '../../kernel/api/labels';
import type { Import } from '../../imports/clusterlink.net.types';
import type { EndpointSlice, Pod, Service } from '../k8s/core';
import type { ConditionInput } from './conditions';
import { isManagedByUs, ownerLabels } from './labels';

export const SERVICE_PORT_NAME = 'tcp';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const ENDPOINTSLICE_MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';

export function isMergeImport(imp: Import): boolean {
  return imp.metadata.labels?.[IMPORT_MERGE_LABEL] === 'true';
}

export function endpointSliceName(importName: string): string {
  return `${importName}-clusterlink`;
}

function ownerReferences(imp: Import) {
  return imp.metadata.uid
    ? [
        {
          apiVersion: API_GROUP_VERSION,
          kind: 'Import',
          name: imp.metadata.name,
          uid: imp.metadata.uid,
          controller: true,
        },
      ]
    : undefined;
}

export function desiredService(imp: Import, targetPort: number): Service {
  const ns = imp.metadata.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: imp.metadata.name,
      namespace: ns,
      labels: ownerLabels(ns, imp.metadata.name),
      ownerReferences: ownerReferences(imp),
    },
    spec: {
      type: 'ClusterIP',
      ports: [{ name: SERVICE_PORT_NAME, protocol: 'TCP', port: imp.spec.port, targetPort }],
    },
  };
}

function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function desiredEndpointSlice(
  imp: Import,
  targetPort: number,
  portName: string | undefined,
  dataplanePods: readonly Pod[],
): EndpointSlice {
  const ns = imp.metadata.namespace ?? 'default';
  const pods = dataplanePods
    .filter((p) => p.status?.podIP && !p.metadata?.deletionTimestamp)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const ipv6 = pods.length > 0 && pods.every((p) => p.status!.podIP!.includes(':'));
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: endpointSliceName(imp.metadata.name),
      namespace: ns,
      labels: {
        ...ownerLabels(ns, imp.metadata.name),
        [SERVICE_NAME_LABEL]: imp.metadata.name,
        [ENDPOINTSLICE_MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
      },
      ownerReferences: ownerReferences(imp),
    },
    addressType: ipv6 ? 'IPv6' : 'IPv4',
    endpoints: pods
      .filter((p) => p.status!.podIP!.includes(':') === ipv6)
      .map((p) => ({
        addresses: [p.status!.podIP!],
        conditions: { ready: isReady(p) },
        targetRef: {
          kind: 'Pod',
          name: p.metadata!.name!,
          namespace: p.metadata!.namespace!,
          uid: p.metadata?.uid,
        },
      })),
    ports: [{ name: portName ?? '', port: targetPort, protocol: 'TCP' }],
  };
}

export interface ImportObjectsPlan {
  /** The Service we own and want (absent = we want none of ours). */
  readonly service?: Service;
  /** Our EndpointSlice (absent = we want none). */
  readonly endpointSlice?: EndpointSlice;
  readonly condition: ConditionInput;
  /** The user's Service is in the way. */
  readonly conflict: boolean;
}

function serviceCondition(status: 'True' | 'False', reason: string, message: string): ConditionInput {
  return { type: Condition.importServiceValid, status, reason, message };
}

/**
 * @param existing the Service `<import>.<namespace>` as observed (ours or the user's), if any
 * @param targetPort the resolved target port, or undefined when it is invalid
 */
export function planImportObjects(
  imp: Import,
  targetPort: number | undefined,
  existing: Service | undefined,
  dataplanePods: readonly Pod[],
): ImportObjectsPlan {
  const ns = imp.metadata.namespace ?? 'default';
  const ref = `${ns}/${imp.metadata.name}`;
  if (targetPort === undefined) {
    return {
      conflict: false,
      condition: serviceCondition('False', 'TargetPortInvalid', 'no Service until the target port is valid'),
    };
  }
  const endpoints = dataplanePods.filter((p) => p.status?.podIP).length;
  const epText = `${endpoints} data-plane endpoint${endpoints === 1 ? '' : 's'}`;
  if (isMergeImport(imp)) {
    const userService = existing && !isManagedByUs(existing) ? existing : undefined;
    if (!userService) {
      return {
        conflict: false,
        condition: serviceCondition(
          'False',
          'ServiceNotFound',
          `merge requested but Service ${ref} does not exist`,
        ),
      };
    }
    const port = userService.spec?.ports?.find((p) => p.port === imp.spec.port);
    if (!port) {
      return {
        conflict: false,
        condition: serviceCondition(
          'False',
          'ServicePortNotFound',
          `Service ${ref} has no port ${imp.spec.port} to merge into`,
        ),
      };
    }
    return {
      conflict: false,
      endpointSlice: desiredEndpointSlice(imp, targetPort, port.name, dataplanePods),
      condition: serviceCondition(
        'True',
        'ServiceMerged',
        `endpoints added to Service ${ref}:${imp.spec.port} (${epText} on port ${targetPort})`,
      ),
    };
  }
  if (existing && !isManagedByUs(existing)) {
    return {
      conflict: true,
      condition: serviceCondition(
        'False',
        'ServiceConflict',
        `Service ${ref} exists and is not managed by ClusterLink; delete it or label the Import ${IMPORT_MERGE_LABEL}=true`,
      ),
    };
  }
  return {
    conflict: false,
    service: desiredService(imp, targetPort),
    endpointSlice: desiredEndpointSlice(imp, targetPort, SERVICE_PORT_NAME, dataplanePods),
    condition: serviceCondition(
      'True',
      'ServiceReady',
      `Service ${ref}:${imp.spec.port} forwards to ${epText} on port ${targetPort}`,
    ),
  };
}

function sameLabels(
  actual: Record<string, string> | undefined,
  wanted: Record<string, string> | undefined,
): boolean {
  return Object.entries(wanted ?? {}).every(([k, v]) => actual?.[k] === v);
}

/** Our Service differs from the desired one in a field we own. */
export function serviceNeedsUpdate(actual: Service, desired: Service): boolean {
  if (!sameLabels(actual.metadata?.labels, desired.metadata?.labels)) return true;
  if (actual.spec?.selector && Object.keys(actual.spec.selector).length > 0) return true;
  const a = actual.spec?.ports ?? [];
  const d = desired.spec?.ports ?? [];
  if (a.length !== d.length) return true;
  return d.some((p, i) => {
    const q = a[i]!;
    return (
      q.name !== p.name ||
      q.port !== p.port ||
      q.targetPort !== p.targetPort ||
      (q.protocol ?? 'TCP') !== p.protocol
    );
  });
}

export function endpointSliceNeedsUpdate(actual: EndpointSlice, desired: EndpointSlice): boolean {
  if (!sameLabels(actual.metadata?.labels, desired.metadata?.labels)) return true;
  if (actual.addressType !== desired.addressType) return true;
  const norm = (s: EndpointSlice) =>
    JSON.stringify({
      e: (s.endpoints ?? []).map((e) => [
        e.addresses,
        e.conditions?.ready ?? null,
        e.targetRef?.name ?? null,
      ]),
      p: (s.ports ?? []).map((p) => [p.name ?? '', p.port, p.protocol ?? 'TCP']),
    });
  return norm(actual) !== norm(desired);
}
