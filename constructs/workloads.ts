import { Attr } from '../kernel/api/labels';
import type { LabelSelector, WorkloadSetOrSelector } from '../imports/clusterlink.net.types';
import { checkLabelKey } from './validation';

/**
 * Builders for the from/to items of AccessPolicy and PrivilegedAccessPolicy. Attributes are the
 * policy attributes of DESIGN.md section 4 (peer.clusterlink.net/name, client.clusterlink.net/...,
 * export.clusterlink.net/...).
 */
export class Workloads {
  /** Every workload. */
  public static all(): WorkloadSetOrSelector {
    return { workloadSelector: {} };
  }

  /** Workloads matching a label selector over their attributes. */
  public static select(selector: LabelSelector): WorkloadSetOrSelector {
    return { workloadSelector: selector };
  }

  /** Workloads whose attributes equal all of the given values. */
  public static withAttributes(attributes: Readonly<Record<string, string>>): WorkloadSetOrSelector {
    return { workloadSelector: { matchLabels: { ...attributes } } };
  }

  /** Workloads at (or exported by) any of the named peers. */
  public static onPeers(...peers: string[]): WorkloadSetOrSelector {
    return {
      workloadSelector: { matchExpressions: [{ key: Attr.peerName, operator: 'In', values: peers }] },
    };
  }

  /** The exports (services) of the given names. */
  public static exports(...names: string[]): WorkloadSetOrSelector {
    return {
      workloadSelector: { matchExpressions: [{ key: Attr.exportName, operator: 'In', values: names }] },
    };
  }

  /** Clients in any of the given namespaces. */
  public static clientsInNamespaces(...namespaces: string[]): WorkloadSetOrSelector {
    return {
      workloadSelector: {
        matchExpressions: [{ key: Attr.clientNamespace, operator: 'In', values: namespaces }],
      },
    };
  }

  /** Predefined workload sets, by name. */
  public static sets(...names: string[]): WorkloadSetOrSelector {
    return { workloadSets: names };
  }

  private constructor() {}
}

/** What the API server's CEL rules would refuse, found at synth time. */
export function checkWorkloads(what: string, items: readonly WorkloadSetOrSelector[]): string[] {
  if (items.length === 0) {
    return [`${what} is empty; list at least one item (Workloads.all() matches everything)`];
  }
  const errors: string[] = [];
  items.forEach((item, i) => {
    const where = `${what}[${i}]`;
    if ((item.workloadSelector === undefined) === (item.workloadSets === undefined)) {
      errors.push(`${where} must set exactly one of workloadSelector or workloadSets`);
    }
    if (item.workloadSets !== undefined && item.workloadSets.length === 0) {
      errors.push(`${where}.workloadSets is empty; name at least one set or use a workloadSelector`);
    }
    for (const key of Object.keys(item.workloadSelector?.matchLabels ?? {})) {
      const error = checkLabelKey(`${where}.workloadSelector.matchLabels`, key);
      if (error) errors.push(error);
    }
    (item.workloadSelector?.matchExpressions ?? []).forEach((e, j) => {
      const at = `${where}.workloadSelector.matchExpressions[${j}]`;
      const values = e.values ?? [];
      if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
        errors.push(`${at}: operator ${e.operator} needs at least one value`);
      } else if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
        errors.push(`${at}: operator ${e.operator} takes no values; remove them`);
      } else if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) {
        errors.push(`${at}: operator "${e.operator}" is unknown; use In, NotIn, Exists or DoesNotExist`);
      }
    });
  });
  return errors;
}
