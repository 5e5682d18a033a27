/**
 * What the suite reads off a node to check the gateway's Pods: their status from the API server,
 * and their processes as the kernel sees them (user ids, capabilities, root mount, memory, CPU),
 * found through the node's containerd.
 */
import * as fs from 'node:fs';
import { runOk } from '../../harness/procs';
import type { KubeNode } from './node';
import { GATEWAY_NAMESPACE } from './world';

export interface ContainerView {
  readonly name: string;
  /** containerd id (without the `containerd://` prefix). */
  readonly containerId: string;
  readonly readinessProbe: boolean;
}

export interface PodView {
  readonly name: string;
  readonly uid: string;
  readonly ready: boolean;
  readonly restarts: number;
  readonly containers: readonly ContainerView[];
}

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { containers: { name: string; readinessProbe?: unknown }[] };
  status: {
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; containerID?: string; restartCount: number }[];
  };
}

/** The gateway's Pods (control plane and data plane) that are not being deleted. */
export async function gatewayPods(node: KubeNode): Promise<PodView[]> {
  const out = await node.kubectlOk([
    '-n',
    GATEWAY_NAMESPACE,
    'get',
    'pods',
    '-l',
    'app.kubernetes.io/part-of=clusterlink',
    '-o',
    'json',
  ]);
  const items = (JSON.parse(out.stdout) as { items: PodJson[] }).items.filter(
    (p) => !p.metadata.deletionTimestamp,
  );
  return items.map((pod) => ({
    name: pod.metadata.name,
    uid: pod.metadata.uid,
    ready: pod.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
    restarts: (pod.status.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    containers: pod.spec.containers.map((c) => ({
      name: c.name,
      containerId: (pod.status.containerStatuses?.find((s) => s.name === c.name)?.containerID ?? '').replace(
        /^containerd:\/\//,
        '',
      ),
      readinessProbe: c.readinessProbe !== undefined,
    })),
  }));
}

/** Task pids of the node's containerd by container id. */
async function taskPids(node: KubeNode): Promise<Map<string, number>> {
  const out = await runOk('ctr', [
    '--address',
    node.folders.containerdSocket,
    '--namespace',
    'k8s.io',
    'tasks',
    'ls',
  ]);
  const pids = new Map<string, number>();
  for (const line of out.stdout.split('\n').slice(1)) {
    const [id, pid] = line.trim().split(/\s+/);
    if (id && pid) pids.set(id, Number(pid));
  }
  return pids;
}

export interface ProcessView {
  readonly pid: number;
  /** Real, effective, saved and filesystem user ids. */
  readonly uids: string[];
  readonly capEff: string;
  readonly noNewPrivs: boolean;
  readonly rootReadOnly: boolean;
  readonly rssBytes: number;
  readonly cpuSeconds: number;
}

function readProcess(pid: number): ProcessView {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '';
  const rootMount = fs
    .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((f) => f[4] === '/');
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    uids: field('Uid').split(/\s+/),
    capEff: field('CapEff'),
    noNewPrivs: field('NoNewPrivs') === '1',
    rootReadOnly: (rootMount?.[5] ?? '').split(',').includes('ro'),
    rssBytes: Number(/(\d+)/.exec(field('VmRSS'))?.[1] ?? 0) * 1024,
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100,
  };
}

/** The main process of a container, as the kernel sees it. */
export async function containerProcess(node: KubeNode, containerId: string): Promise<ProcessView> {
  const pid = (await taskPids(node)).get(containerId);
  if (!pid) throw new Error(`no running task for container ${containerId} on ${node.name}`);
  return readProcess(pid);
}

/** Memory and CPU of each gateway Pod (sum over its containers' main processes). */
export async function podUsage(
  node: KubeNode,
  namePrefix = '',
): Promise<{ pod: string; rssBytes: number; cpuSeconds: number }[]> {
  const pids = await taskPids(node);
  return (await gatewayPods(node))
    .filter((p) => p.name.startsWith(namePrefix))
    .map((p) => {
      let rssBytes = 0;
      let cpuSeconds = 0;
      for (const c of p.containers) {
        const pid = pids.get(c.containerId);
        if (!pid) continue;
        const view = readProcess(pid);
        rssBytes += view.rssBytes;
        cpuSeconds += view.cpuSeconds;
      }
      return { pod: p.name, rssBytes, cpuSeconds };
    });
}

/**
 * The control-plane Pod holding the leader Lease. The holder identity is the Pod name followed by
 * a random suffix per process, so a restarted container never mistakes its predecessor's lease
 * for its own.
 */
export async function waitForLeader(node: KubeNode): Promise<string> {
  const out = await node.kubectlOk([
    '-n',
    GATEWAY_NAMESPACE,
    'get',
    'lease',
    'cl-controlplane',
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  const holder = out.stdout.trim();
  const pod = (await gatewayPods(node)).find(
    (p) => p.name.startsWith('cl-controlplane') && holder.startsWith(`${p.name}-`),
  );
  if (!pod)
    throw new Error(
      `the lease holder ${JSON.stringify(holder)} on ${node.name} is no running control-plane Pod`,
    );
  return pod.name;
}
