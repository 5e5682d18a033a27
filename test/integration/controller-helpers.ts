/**
 * Shared setup of the control-plane integration tests: a real API server with our CRDs, a site
 * PKI, a raw client for arranging and inspecting objects, and waiting helpers.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createCertificateAuthority,
  createPeerCertificate,
  type CertificateAndKey,
} from '../../cli/pki/certificates';
import { API_GROUP_VERSION } from '../../kernel/api/labels';
import type { SnapshotTls } from '../../kernel/api/snapshot';
import { KubeClient } from '../../controller/k8s/client';
import type { Pod } from '../../controller/k8s/core';
import { isAlreadyExists, isNotFound } from '../../controller/k8s/errors';
import type { KubeObject } from '../../controller/k8s/object';
import { collectionPath, objectPath, Resources, type ResourceType } from '../../controller/k8s/resources';
import { installCrds } from '../harness/crds';
import type { TestCluster } from '../harness/cluster';

export const GATEWAY_NS = 'clusterlink-system';

export interface Site {
  readonly client: KubeClient;
  readonly ca: CertificateAndKey;
  readonly tls: SnapshotTls;
  readonly certDir: string;
}

export async function prepareSite(cluster: TestCluster, peerName = 'east'): Promise<Site> {
  await installCrds(cluster.kubeConfig);
  const client = new KubeClient(cluster.kubeConfig);
  await ensureNamespace(client, GATEWAY_NS);
  const ca = await createCertificateAuthority({ commonName: 'fabric' });
  const peer = await createPeerCertificate(ca, peerName);
  const tls = { ca: ca.cert, cert: peer.cert, key: peer.key };
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-ctrl-certs-'));
  fs.writeFileSync(path.join(certDir, 'ca.pem'), tls.ca);
  fs.writeFileSync(path.join(certDir, 'cert.pem'), tls.cert);
  fs.writeFileSync(path.join(certDir, 'key.pem'), tls.key, { mode: 0o600 });
  return { client, ca, tls, certDir };
}

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

export function crd(
  kind: string,
  namespace: string | undefined,
  name: string,
  spec: unknown,
  labels?: Record<string, string>,
) {
  return {
    apiVersion: API_GROUP_VERSION,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) },
    spec,
  };
}

export async function create<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceType,
  obj: T,
): Promise<T> {
  return client.create(collectionPath(resource, obj.metadata?.namespace), obj);
}

export async function read<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceType,
  namespace: string | undefined,
  name: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>(objectPath(resource, namespace, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function remove(
  client: KubeClient,
  resource: ResourceType,
  namespace: string | undefined,
  name: string,
) {
  try {
    await client.delete(objectPath(resource, namespace, name));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** A Pod object with a Running, Ready status and the given IP (nothing schedules Pods here). */
export async function createPod(
  client: KubeClient,
  namespace: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
  serviceAccount = 'default',
): Promise<Pod> {
  await create<Pod>(client, Resources.pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { serviceAccountName: serviceAccount, containers: [{ name: 'main', image: 'test.invalid/none' }] },
  });
  return client.mergePatch<Pod>(`${objectPath(Resources.pod, namespace, name)}/status`, {
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  });
}

export function createDataplanePod(client: KubeClient, name: string, ip: string): Promise<Pod> {
  return createPod(client, GATEWAY_NS, name, ip, {
    'app.kubernetes.io/name': 'cl-dataplane',
    'app.kubernetes.io/part-of': 'clusterlink',
  });
}

/** Polls `probe` until it returns a value other than undefined/false; the last error is reported on timeout. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Conditioned extends KubeObject {
  status?: {
    readonly conditions?: readonly {
      type: string;
      status: string;
      reason: string;
      message: string;
      observedGeneration?: number;
    }[];
  };
}

export function condition(obj: Conditioned | undefined, type: string) {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the object's condition has this status (and reason, when given) for its current generation. */
export async function waitForCondition<T extends Conditioned>(
  client: KubeClient,
  resource: ResourceType,
  namespace: string | undefined,
  name: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 20_000,
): Promise<T> {
  return eventually(
    async () => {
      const obj = await read<T>(client, resource, namespace, name);
      const c = condition(obj, type);
      return c &&
        c.status === status &&
        (reason === undefined || c.reason === reason) &&
        c.observedGeneration === obj?.metadata?.generation
        ? obj
        : undefined;
    },
    `${resource.kind} ${namespace ?? ''}/${name} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    timeoutMs,
  );
}

/** Events the API server stored about an object. */
export async function eventsFor(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<{ reason: string; message: string; type: string }[]> {
  const list = await client.request<{
    items: { reason: string; message: string; type: string; involvedObject: { name: string } }[];
  }>('GET', collectionPath(Resources.event, namespace));
  return list.items.filter((e) => e.involvedObject.name === name);
}

/**
 * Whether something accepts TCP connections on the port. The data plane resets a client whose
 * Import has no usable source (no Peer here), possibly before 'connect' is seen: a reset still
 * proves the listener, only a refusal means there is none.
 */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'ECONNREFUSED'));
  });
}
