/** Whether an Export is usable, and where its tunnels connect (pure). */
import { Condition } from '../../kernel/api/labels';
import type { Export } from '../../imports/clusterlink.net.types';
import type { Service } from '../k8s/core';
import type { ConditionInput } from './conditions';

export interface ExportResolution {
  readonly condition: ConditionInput;
  /** Where ingress tunnels connect; absent when the Export is not valid. */
  readonly target?: { readonly host: string; readonly port: number };
}

function cond(status: 'True' | 'False', reason: string, message: string): ConditionInput {
  return { type: Condition.exportValid, status, reason, message };
}

/** @param service the Service `<name>.<namespace>`, if it exists */
export function resolveExport(
  exp: Export,
  service: Service | undefined,
  clusterDomain = 'cluster.local',
): ExportResolution {
  const ns = exp.metadata.namespace ?? 'default';
  const name = exp.metadata.name;
  const host = exp.spec?.host?.trim();
  const port = exp.spec?.port;
  if (host) {
    if (!port)
      return { condition: cond('False', 'PortMissing', `spec.port is required with spec.host ${host}`) };
    return { condition: cond('True', 'HostSet', `exports ${host}:${port}`), target: { host, port } };
  }
  if (!service) {
    return { condition: cond('False', 'ServiceNotFound', `Service ${ns}/${name} does not exist`) };
  }
  const ports = service.spec?.ports ?? [];
  let resolved: number | undefined;
  if (port) {
    if (!ports.some((p) => p.port === port)) {
      return { condition: cond('False', 'ServicePortNotFound', `Service ${ns}/${name} has no port ${port}`) };
    }
    resolved = port;
  } else if (ports.length === 1) {
    resolved = ports[0]!.port;
  } else {
    return {
      condition: cond(
        'False',
        ports.length === 0 ? 'ServicePortNotFound' : 'PortAmbiguous',
        ports.length === 0
          ? `Service ${ns}/${name} has no ports`
          : `Service ${ns}/${name} has ${ports.length} ports; set spec.port`,
      ),
    };
  }
  const fqdn = `${name}.${ns}.svc.${clusterDomain}`;
  return {
    condition: cond('True', 'ServiceFound', `exports ${fqdn}:${resolved}`),
    target: { host: fqdn, port: resolved },
  };
}
