/** Server-side apply of a site's objects through the current kubeconfig, and waiting for rollout. */
import {
  AppsV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { CliError } from '../errors';
import { kubeError } from '../kube';
import type { KubeManifest } from './manifests';

export const FIELD_MANAGER = 'clusterlink';

function describe(o: KubeManifest): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

export async function serverSideApply(
  kc: KubeConfig,
  objects: readonly KubeManifest[],
  onObject: (what: string, i: number) => void,
): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const [i, o] of objects.entries()) {
    onObject(describe(o), i);
    try {
      await api.patch(
        o as KubernetesObject,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      );
    } catch (err) {
      throw kubeError(kc, `cannot apply ${describe(o)}`, err);
    }
  }
}

/** Deletes objects in reverse apply order; objects already gone are fine. Returns how many were deleted. */
export async function deleteObjects(
  kc: KubeConfig,
  objects: readonly KubeManifest[],
  onObject: (what: string) => void,
): Promise<number> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  let deleted = 0;
  for (const o of [...objects].reverse()) {
    onObject(describe(o));
    try {
      await api.delete(
        {
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata: { name: o.metadata.name, namespace: o.metadata.namespace },
        },
        undefined,
        undefined,
        undefined,
        undefined,
        'Background',
      );
      deleted++;
    } catch (err) {
      if ((err as { code?: number }).code === 404) continue;
      throw kubeError(kc, `cannot delete ${describe(o)}`, err);
    }
  }
  return deleted;
}

export interface RolloutState {
  readonly name: string;
  readonly desired: number;
  readonly updated: number;
  readonly available: number;
  readonly done: boolean;
  readonly message?: string;
}

/** Waits until every Deployment has rolled out, reporting each poll; rejects with the laggards on timeout. */
export async function waitForRollout(
  kc: KubeConfig,
  namespace: string,
  names: readonly string[],
  timeoutMs: number,
  onState: (states: readonly RolloutState[]) => void,
): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states: RolloutState[] = [];
    for (const name of names) {
      try {
        const d = await apps.readNamespacedDeployment({ name, namespace });
        const desired = d.spec?.replicas ?? 1;
        const s = d.status ?? {};
        const progressing = s.conditions?.find((c) => c.type === 'Progressing');
        const done =
          (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
          (s.updatedReplicas ?? 0) >= desired &&
          (s.availableReplicas ?? 0) >= desired &&
          (s.replicas ?? 0) <= desired;
        states.push({
          name,
          desired,
          updated: s.updatedReplicas ?? 0,
          available: s.availableReplicas ?? 0,
          done,
          ...(progressing?.reason === 'ProgressDeadlineExceeded' ? { message: progressing.message } : {}),
        });
      } catch (err) {
        throw kubeError(kc, `cannot read Deployment ${namespace}/${name}`, err);
      }
    }
    onState(states);
    if (states.every((s) => s.done)) return;
    const stuck = states.find((s) => s.message);
    if (stuck)
      throw new CliError(
        'CL_ERR_KUBERNETES',
        `Deployment ${namespace}/${stuck.name} did not roll out: ${stuck.message}`,
      );
    if (Date.now() > deadline) {
      const lagging = states
        .filter((s) => !s.done)
        .map((s) => `${s.name} ${s.available}/${s.desired} available`);
      throw new CliError(
        'CL_ERR_KUBERNETES',
        `rollout not finished after ${Math.round(timeoutMs / 1000)}s: ${lagging.join(', ')} (kubectl -n ${namespace} describe deployment,pods; --timeout to wait longer, --no-wait not to wait)`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
