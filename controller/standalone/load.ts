/**
 * Reads a standalone gateway's configuration directory: every *.yaml / *.yml file (multi-document)
 * and the certificates. Bad YAML and invalid objects are collected with file, document index and
 * field; they never make loading fail.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type {
  ConfigObject,
  DirectoryConfig,
  ExportObject,
  ImportObject,
  InvalidObject,
  PeerObject,
  PolicyConfigObject,
} from './objects';
import { importListenPort, originText } from './objects';
import { validateDocument } from './validate';

export interface LoadedFiles {
  readonly config: DirectoryConfig;
  /** Hash of every configuration file's name and content: equal digests mean nothing changed. */
  readonly digest: string;
}

export function isConfigFile(name: string): boolean {
  return !name.startsWith('.') && /\.ya?ml$/i.test(name);
}

/** Reads the YAML files of `dir` (not recursive). Unreadable files are reported as invalid. */
export async function loadConfigDirectory(
  dir: string,
  options: { reservedPorts?: readonly number[] } = {},
): Promise<LoadedFiles> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const files = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && isConfigFile(e.name))
    .map((e) => e.name)
    .sort();
  const hash = createHash('sha256');
  const texts: { file: string; text?: string; error?: string }[] = [];
  for (const file of files) {
    try {
      const text = await fs.readFile(path.join(dir, file), 'utf8');
      hash.update(file).update('\0').update(text).update('\0');
      texts.push({ file, text });
    } catch (err) {
      // A file removed between readdir and read is simply gone; anything else is reported.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      hash.update(file).update('\0!');
      texts.push({ file, error: (err as Error).message });
    }
  }
  return { config: parseConfigFiles(texts, options), digest: hash.digest('hex') };
}

/** Pure part of loading: parses and validates file contents, then checks objects against each other. */
export function parseConfigFiles(
  files: readonly { file: string; text?: string; error?: string }[],
  options: { reservedPorts?: readonly number[] } = {},
): DirectoryConfig {
  const objects: ConfigObject[] = [];
  const invalid: InvalidObject[] = [];
  for (const { file, text, error } of files) {
    if (text === undefined) {
      invalid.push({ origin: { file, index: 0 }, error: `cannot read file: ${error ?? 'unknown error'}` });
      continue;
    }
    const docs = parseAllDocuments(text, { prettyErrors: true });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, index) => {
      const origin = { file, index };
      if (doc.errors.length > 0) {
        const e = doc.errors[0];
        const where = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
        invalid.push({ origin, error: `YAML syntax error${where}: ${e.message.split('\n')[0]}` });
        return;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return; // an empty document (e.g. a trailing ---)
      const result = validateDocument(value, origin);
      if (result.ok) objects.push(result.object);
      else
        invalid.push({
          origin,
          kind: result.kind,
          name: result.name,
          namespace: result.namespace,
          error: result.error,
        });
    });
  }
  return crossCheck(objects, invalid, options.reservedPorts ?? []);
}

function keyOf(o: ConfigObject): string {
  switch (o.kind) {
    case 'Peer':
      return `Peer/${o.name}`;
    case 'Export':
    case 'Import':
      return `${o.kind}/${o.namespace}/${o.name}`;
    default:
      return `${o.kind}/${o.policy.namespace ?? ''}/${o.policy.name}`;
  }
}

function identity(o: ConfigObject): { kind: string; name: string; namespace?: string } {
  switch (o.kind) {
    case 'Peer':
      return { kind: o.kind, name: o.name };
    case 'Export':
    case 'Import':
      return { kind: o.kind, name: o.name, namespace: o.namespace };
    default:
      return { kind: o.kind, name: o.policy.name, namespace: o.policy.namespace };
  }
}

/** Rules that involve more than one object: unique names, unique import listen ports. */
function crossCheck(
  objects: ConfigObject[],
  invalid: InvalidObject[],
  reservedPorts: readonly number[],
): DirectoryConfig {
  const seen = new Map<string, ConfigObject>();
  const ports = new Map<number, ImportObject>();
  const peers: PeerObject[] = [];
  const exports: ExportObject[] = [];
  const imports: ImportObject[] = [];
  const policies: PolicyConfigObject[] = [];
  for (const o of objects) {
    const key = keyOf(o);
    const first = seen.get(key);
    if (first) {
      invalid.push({
        origin: o.origin,
        ...identity(o),
        error: `metadata.name: duplicate of ${key} already defined in ${originText(first.origin)}`,
      });
      continue;
    }
    if (o.kind === 'Import') {
      const port = importListenPort(o);
      const field = o.targetPort ? 'spec.targetPort' : 'spec.port';
      const other = ports.get(port);
      if (other) {
        invalid.push({
          origin: o.origin,
          ...identity(o),
          error: `${field}: port ${port} is already used by Import ${other.namespace}/${other.name} (${originText(other.origin)})`,
        });
        continue;
      }
      if (reservedPorts.includes(port)) {
        invalid.push({
          origin: o.origin,
          ...identity(o),
          error: `${field}: port ${port} is used by the gateway itself`,
        });
        continue;
      }
      ports.set(port, o);
    }
    seen.set(key, o);
    if (o.kind === 'Peer') peers.push(o);
    else if (o.kind === 'Export') exports.push(o);
    else if (o.kind === 'Import') imports.push(o);
    else policies.push(o);
  }
  return { peers, exports, imports, policies, invalid };
}
