/** Builds a StatusReport from the ClusterLink objects of a Kubernetes cluster. */
import { X509Certificate } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, Condition } from '../../kernel/api/labels';
import type { LbScheme } from '../../kernel/api/snapshot';
import type { AccessPolicySpec } from '../../kernel/policy/types';
import type { StatusReport } from '../../controller/standalone/report';
import { peerNameOfCertificate } from '../../kernel/identity';
import { kubeError, loadKubeConfig, type KubeTarget } from '../kube';

interface KubeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

interface Item {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: { conditions?: KubeCondition[]; labels?: Record<string, string> };
}

function condition(item: Item, type: string): KubeCondition | undefined {
  return item.status?.conditions?.find((c) => c.type === type);
}

function validity(item: Item, types: readonly string[]): { valid: boolean; message?: string } {
  const conds = types.map((t) => condition(item, t));
  if (conds.some((c) => c === undefined))
    return { valid: false, message: 'not reconciled yet (is the control plane running?)' };
  const bad = conds.filter((c) => c!.status !== 'True');
  return bad.length
    ? { valid: false, message: bad.map((c) => `${c!.reason ?? c!.type}: ${c!.message ?? ''}`).join('; ') }
    : { valid: true };
}

/** RTT as the control plane writes it into the PeerReachable message ("... (round trip 1.2 ms)"). */
export function rttFrom(message: string | undefined): number | undefined {
  const m = /(?:round trip|rtt)[ =:]*([\d.]+)\s*ms/i.exec(message ?? '');
  return m ? Number(m[1]) : undefined;
}

export interface StatusTarget extends KubeTarget {
  /** Gateway namespace (Peers, the cl-peer Secret). */
  readonly namespace: string;
}

export async function kubernetesStatus(target: StatusTarget): Promise<StatusReport> {
  const kc = loadKubeConfig(target);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = async (plural: string, namespace?: string, attempt = 1): Promise<Item[]> => {
    try {
      const res = (
        namespace
          ? await custom.listNamespacedCustomObject({
              group: API_GROUP,
              version: API_VERSION,
              namespace,
              plural,
            })
          : await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural })
      ) as { items: Item[] };
      return res.items ?? [];
    } catch (err) {
      // 429: the API server asks to come back (e.g. right after CRDs were installed).
      if ((err as { code?: number }).code === 429 && attempt < 10) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        return list(plural, namespace, attempt + 1);
      }
      throw kubeError(kc, `cannot list ${plural}.${API_GROUP}${namespace ? ` in ${namespace}` : ''}`, err);
    }
  };
  const [peers, exports, imports, policies, privileged] = await Promise.all([
    list('peers', target.namespace),
    list('exports'),
    list('imports'),
    list('accesspolicies'),
    list('privilegedaccesspolicies'),
  ]);
  const peer = await localPeer(kc, target.namespace);
  const byName = (a: Item, b: Item) =>
    `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
      `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
    );
  return {
    source: 'kubernetes',
    ...(peer ? { peer: { name: peer, labels: {} } } : {}),
    generatedAt: new Date().toISOString(),
    peers: peers.sort(byName).map((p) => {
      const c = condition(p, Condition.peerReachable);
      const gateways = (p.spec?.gateways as { host: string; port: number }[] | undefined) ?? [];
      const rtt = rttFrom(c?.message);
      return {
        name: p.metadata.name,
        gateways: gateways.map((g) => `${g.host}:${g.port}`),
        ...(c
          ? {
              reachable: c.status === 'True',
              since: c.lastTransitionTime,
              reason: c.reason,
              message: c.message,
            }
          : {}),
        ...(rtt !== undefined ? { rttMs: rtt } : {}),
        labels: p.status?.labels ?? {},
      };
    }),
    exports: exports.sort(byName).map((e) => ({
      name: e.metadata.name,
      namespace: e.metadata.namespace ?? 'default',
      target: `${(e.spec?.host as string) || `${e.metadata.name}.${e.metadata.namespace}.svc`}:${String(e.spec?.port ?? '?')}`,
      ...validity(e, [Condition.exportValid]),
      labels: e.metadata.labels ?? {},
    })),
    imports: imports.sort(byName).map((i) => ({
      name: i.metadata.name,
      namespace: i.metadata.namespace ?? 'default',
      port: Number(i.spec?.port ?? 0),
      ...(i.spec?.targetPort ? { listen: `:${String(i.spec.targetPort)}` } : {}),
      sources: (i.spec?.sources as StatusReport['imports'][number]['sources']) ?? [],
      lbScheme: (i.spec?.lbScheme as LbScheme) ?? 'round-robin',
      ...validity(i, [Condition.importTargetPortValid, Condition.importServiceValid]),
      labels: i.metadata.labels ?? {},
    })),
    policies: [
      ...privileged.sort(byName).map((p) => ({ kind: 'PrivilegedAccessPolicy' as const, item: p })),
      ...policies.sort(byName).map((p) => ({ kind: 'AccessPolicy' as const, item: p })),
    ].map(({ kind, item }) => ({
      kind,
      name: item.metadata.name,
      ...(kind === 'AccessPolicy' ? { namespace: item.metadata.namespace } : {}),
      action: String(item.spec?.action ?? ''),
      valid: true,
      spec: item.spec as unknown as AccessPolicySpec,
    })),
    invalid: [],
    errors: [],
  };
}

/** This site's peer name: the first DNS SAN of the certificate in the cl-peer Secret, if readable. */
async function localPeer(
  kc: ReturnType<typeof loadKubeConfig>,
  namespace: string,
): Promise<string | undefined> {
  try {
    const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: 'cl-peer', namespace });
    const pem = secret.data?.['cert.pem'];
    return pem ? peerNameOfCertificate(new X509Certificate(Buffer.from(pem, 'base64'))) : undefined;
  } catch {
    return undefined; // not fatal: the report just does not name the site
  }
}
