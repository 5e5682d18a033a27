/**
 * Deployment conventions of the construct library: the shared names, ports, labels and paths
 * (controller/api/conventions.ts, also read by the control plane, data plane and CLI) and the
 * labels every object of a gateway install carries.
 */

import { NAME_LABEL, PART_OF_LABEL, PART_OF_VALUE } from '../controller/api/conventions';

export * from '../controller/api/conventions';

/** Labels shared by every object of a gateway install. */
export function commonLabels(name: string): Record<string, string> {
  return { [NAME_LABEL]: name, [PART_OF_LABEL]: PART_OF_VALUE };
}
