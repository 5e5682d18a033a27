/**
 * The applications of the real-Pod suite, as the YAML a user applies: backends (HTTP echo naming
 * the site, iperf3 server, redis-server) behind ordinary Services at the exporting sites, and
 * long-running client Pods at the importing site that the scenarios `kubectl exec` into.
 */
import { testboxImage } from '../images/images';
import type { KubeNode } from './node';

export const ECHO_PORT = 8080;
export const IPERF_PORT = 5201;
export const REDIS_PORT = 6379;

const restricted = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

function container(name: string, command: string[], env: Record<string, string> = {}, port?: number): object {
  return {
    name,
    image: testboxImage.name,
    imagePullPolicy: 'Never',
    command,
    env: Object.entries(env).map(([n, value]) => ({ name: n, value })),
    securityContext: restricted,
    ...(port !== undefined
      ? { ports: [{ containerPort: port }], readinessProbe: { tcpSocket: { port }, periodSeconds: 1 } }
      : {}),
  };
}

/** Echo, iperf3 and redis in one Deployment, each behind its own Service in `default`. */
export function backendManifests(siteName: string): string {
  const labels = { app: 'backend' };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'backend', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            container(
              'echo',
              ['echo-server'],
              { SITE_NAME: siteName, ECHO_PORT: String(ECHO_PORT) },
              ECHO_PORT,
            ),
            container('iperf3', ['iperf3', '-s', '-p', String(IPERF_PORT)], {}, IPERF_PORT),
            container(
              'redis',
              [
                'redis-server',
                '--port',
                String(REDIS_PORT),
                '--save',
                '',
                '--appendonly',
                'no',
                '--protected-mode',
                'no',
              ],
              {},
              REDIS_PORT,
            ),
          ],
        },
      },
    },
  };
  const service = (name: string, port: number) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { selector: labels, ports: [{ port, targetPort: port }] },
  });
  return [deployment, service('echo', ECHO_PORT), service('iperf3', IPERF_PORT), service('redis', REDIS_PORT)]
    .map((o) => JSON.stringify(o))
    .join('\n---\n');
}

export interface ClientPod {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The importing site's client workloads: one identity per policy case. */
export const CLIENTS = {
  /** Allowed: namespace default, labels app=client. */
  client: { name: 'client', namespace: 'default', serviceAccount: 'default', labels: { app: 'client' } },
  /** Same namespace, other labels. */
  guest: { name: 'guest', namespace: 'default', serviceAccount: 'default', labels: { app: 'guest' } },
  /** Right labels, other namespace. */
  outsider: { name: 'outsider', namespace: 'guests', serviceAccount: 'default', labels: { app: 'client' } },
  /** Right labels and namespace, its own service account. */
  robot: { name: 'robot', namespace: 'default', serviceAccount: 'robot', labels: { app: 'client' } },
} as const satisfies Record<string, ClientPod>;

/** A Pod that sleeps, for `kubectl exec`; `serviceAccountToken` mounts its ServiceAccount's token. */
export function clientPodManifest(pod: ClientPod, options: { serviceAccountToken?: boolean } = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels },
    spec: {
      serviceAccountName: pod.serviceAccount,
      automountServiceAccountToken: options.serviceAccountToken ?? false,
      terminationGracePeriodSeconds: 0,
      containers: [container('box', ['sleep', '1000000'])],
    },
  });
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command in a Pod's first container through the API server and the kubelet (`kubectl exec`). */
export function execIn(
  node: KubeNode,
  pod: { name: string; namespace: string },
  command: readonly string[],
  timeoutMs = 60_000,
): Promise<ExecResult> {
  return node.kubectl(['-n', pod.namespace, 'exec', pod.name, '--', ...command], { timeoutMs });
}

/** Fetches `http://<host>:<port>/` in the Pod and returns the site the echo named, or the failure. */
export async function echoFrom(
  node: KubeNode,
  pod: { name: string; namespace: string },
  host: string,
  port = ECHO_PORT,
): Promise<{ site?: string; error?: string }> {
  const result = await execIn(
    node,
    pod,
    ['curl', '-sS', '--max-time', '10', `http://${host}:${port}/`],
    30_000,
  );
  const site = /^site=(\S+)$/m.exec(result.stdout)?.[1];
  if (result.code === 0 && site) return { site };
  return { error: `curl exit ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 200)}` };
}
