/**
 * Deployment conventions of the construct library: the shared names, ports, labels and paths
 * (kernel/api/conventions.ts, also read by the control plane, data plane and CLI) and the
 * labels every object of a gateway install carries.
 */

import { NAME_LABEL, PART_OF_LABEL, PART_OF_VALUE } from '../kernel/api/conventions';

export * from '../kernel/api/conventions';

/** Labels shared by every object of a gateway install. */
export function commonLabels(name: string): Record<string, string> {
  return { [NAME_LABEL]: name, [PART_OF_LABEL]: PART_OF_VALUE };
}
