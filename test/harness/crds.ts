/**
 * Installs our CustomResourceDefinitions from the synthesized manifests (dist/ by default) into a
 * test cluster and waits until the API server serves them (condition Established).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export const distDir = path.resolve(__dirname, '..', '..', 'dist');

export class CrdInstallError extends Error {
  constructor(
    readonly code: 'CL_ERR_CRDS_NOT_FOUND' | 'CL_ERR_CRDS_NOT_ESTABLISHED' | 'CL_ERR_MANIFEST_INVALID',
    message: string,
  ) {
    super(message);
    this.name = 'CrdInstallError';
  }
}

/** Every .yaml/.yml/.json file under dir, recursively, in a stable order. */
export function manifestFiles(dir: string = distDir): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...manifestFiles(full));
    else if (/\.(ya?ml|json)$/.test(entry.name)) found.push(full);
  }
  return found;
}

/** Every object in the manifest files under dir (multi-document YAML; List kinds not expanded). */
export function readManifests(dir: string = distDir): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  for (const file of manifestFiles(dir)) {
    for (const doc of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) {
        throw new CrdInstallError('CL_ERR_MANIFEST_INVALID', `${file}: ${doc.errors[0].message}`);
      }
      const value: unknown = doc.toJS();
      if (value && typeof value === 'object' && !Array.isArray(value))
        objects.push(value as Record<string, unknown>);
    }
  }
  return objects;
}

/** The CustomResourceDefinitions among the manifests under dir, as written (raw field names). */
export function readCrds(dir: string = distDir): V1CustomResourceDefinition[] {
  return readManifests(dir).filter(
    (o) => o.kind === 'CustomResourceDefinition' && String(o.apiVersion).startsWith('apiextensions.k8s.io/'),
  ) as unknown as V1CustomResourceDefinition[];
}

/**
 * The typed API client serializes by model property names (`_enum`, `xKubernetesValidations`...):
 * a raw manifest must be deserialized into the model first (loadYaml does it by kind), or enums,
 * defaults and CEL rules are silently dropped on the way to the server.
 */
function toModel(crd: V1CustomResourceDefinition): V1CustomResourceDefinition {
  return loadYaml<V1CustomResourceDefinition>(JSON.stringify(crd));
}

export interface InstallCrdsOptions {
  /** Where to look for manifests. @default dist/ */
  readonly dir?: string;
  /** Install these instead of reading dir. */
  readonly crds?: readonly V1CustomResourceDefinition[];
  /** @default 30_000 */
  readonly timeoutMs?: number;
}

/**
 * Creates (or replaces) the CRDs and resolves with their names once all are Established.
 * Throws if there are none: a test that meant to install CRDs must not pass without them.
 */
export async function installCrds(
  kubeConfig: KubeConfig,
  options: InstallCrdsOptions = {},
): Promise<string[]> {
  const dir = options.dir ?? distDir;
  const crds = (options.crds ?? readCrds(dir)).map(toModel);
  if (crds.length === 0) {
    throw new CrdInstallError('CL_ERR_CRDS_NOT_FOUND', `no CustomResourceDefinition found under ${dir}`);
  }
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const crd of crds) {
    const name = crd.metadata?.name;
    if (!name)
      throw new CrdInstallError('CL_ERR_MANIFEST_INVALID', 'a CustomResourceDefinition has no metadata.name');
    names.push(name);
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      const existing = await api.readCustomResourceDefinition({ name });
      await api.replaceCustomResourceDefinition({
        name,
        body: { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion } },
      });
    }
  }
  await waitForCrdsEstablished(kubeConfig, names, options.timeoutMs ?? 30_000);
  return names;
}

/** Polls until every named CRD has condition Established=True. */
export async function waitForCrdsEstablished(
  kubeConfig: KubeConfig,
  names: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  let pending = [...names];
  while (pending.length > 0) {
    const still: string[] = [];
    for (const name of pending) {
      const crd = await api.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
      if (!established) still.push(name);
    }
    pending = still;
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new CrdInstallError(
        'CL_ERR_CRDS_NOT_ESTABLISHED',
        `CRDs not Established after ${timeoutMs} ms: ${pending.join(', ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
