/** Ownership labels on the objects the control plane creates for an Import (pure). */
import {
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_IMPORT_NAME_LABEL,
  OWNER_IMPORT_NAMESPACE_LABEL,
} from '../../kernel/api/labels';
import type { KubeObject } from '../k8s/object';

export function ownerLabels(namespace: string, name: string): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    [OWNER_IMPORT_NAME_LABEL]: name,
    [OWNER_IMPORT_NAMESPACE_LABEL]: namespace,
  };
}

/** Carries our managed-by label: ours to change or delete. Anything else belongs to the user. */
export function isManagedByUs(obj: KubeObject | undefined): boolean {
  return obj?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** The Import (`namespace/name`) that owns a managed object, from its labels. */
export function ownerImportKey(obj: KubeObject): string | undefined {
  const labels = obj.metadata?.labels;
  if (!isManagedByUs(obj)) return undefined;
  const name = labels?.[OWNER_IMPORT_NAME_LABEL];
  const ns = labels?.[OWNER_IMPORT_NAMESPACE_LABEL] ?? obj.metadata?.namespace;
  return name && ns ? `${ns}/${name}` : undefined;
}
