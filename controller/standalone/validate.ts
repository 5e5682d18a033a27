/**
 * Validation of one parsed YAML document into a standalone configuration object. Pure: no I/O.
 * Errors name the field path and what is wrong, e.g. `spec.port: must be an integer 1-65535`;
 * the loader prefixes the file and document index.
 */
import { API_GROUP_VERSION } from '../../kernel/api/labels';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue } from '../../kernel/api/names';
import type { LbScheme } from '../../kernel/api/snapshot';
import type {
  LabelSelector,
  LabelSelectorRequirement,
  PolicyAction,
  WorkloadSetOrSelector,
} from '../../kernel/policy/types';
import type {
  ConfigObject,
  ExportObject,
  ImportObject,
  Origin,
  PeerObject,
  PolicyConfigObject,
} from './objects';

export const KINDS = ['Peer', 'Export', 'Import', 'AccessPolicy', 'PrivilegedAccessPolicy'] as const;
export type Kind = (typeof KINDS)[number];
export const DEFAULT_NAMESPACE = 'default';

const LB_SCHEMES: readonly LbScheme[] = ['round-robin', 'random', 'static'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** Thrown inside validation; carries the field path. Never escapes `validateDocument`. */
class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

export type ValidationResult =
  | { readonly ok: true; readonly object: ConfigObject }
  | {
      readonly ok: false;
      readonly error: string;
      readonly kind?: string;
      readonly name?: string;
      readonly namespace?: string;
    };

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function object(v: unknown, field: string): Obj {
  if (!isObject(v)) throw new FieldError(field, `must be a map (got ${describe(v)})`);
  return v;
}

function optionalObject(v: unknown, field: string): Obj {
  return v === undefined || v === null ? {} : object(v, field);
}

function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new FieldError(field, `must be a list (got ${describe(v)})`);
  return v;
}

function string(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '')
    throw new FieldError(field, `must be a non-empty string (got ${describe(v)})`);
  return v;
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new FieldError(field, `must be an integer ${min}-${max} (got ${describe(v)})`);
  }
  return v;
}

function dnsLabel(v: unknown, field: string): string {
  const s = string(v, field);
  if (!isDnsLabel(s)) {
    throw new FieldError(
      field,
      `"${s}" must be a DNS label (lower-case letters, digits, "-"; at most 63 characters)`,
    );
  }
  return s;
}

function dnsSubdomain(v: unknown, field: string): string {
  const s = string(v, field);
  if (!isDnsSubdomain(s)) {
    throw new FieldError(field, `"${s}" must be a DNS name (lower-case letters, digits, "-" and ".")`);
  }
  return s;
}

function labels(v: unknown, field: string): Record<string, string> {
  const map = optionalObject(v, field);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) {
    if (!isLabelKey(key)) throw new FieldError(`${field}.${key}`, 'is not a valid label key');
    if (typeof value !== 'string' || !isLabelValue(value)) {
      throw new FieldError(`${field}.${key}`, `must be a label value string (got ${describe(value)})`);
    }
    out[key] = value;
  }
  return out;
}

function rejectUnknown(map: Obj, field: string, known: readonly string[]): void {
  for (const key of Object.keys(map)) {
    if (!known.includes(key)) {
      throw new FieldError(`${field}.${key}`, `unknown field (expected one of: ${known.join(', ')})`);
    }
  }
}

function peer(spec: Obj, name: string, origin: Origin): PeerObject {
  rejectUnknown(spec, 'spec', ['gateways']);
  const gateways = list(spec.gateways, 'spec.gateways').map((g, i) => {
    const field = `spec.gateways[${i}]`;
    const gw = object(g, field);
    rejectUnknown(gw, field, ['host', 'port']);
    return { host: string(gw.host, `${field}.host`), port: integer(gw.port, `${field}.port`, 1, 65535) };
  });
  if (gateways.length === 0) throw new FieldError('spec.gateways', 'must list at least one gateway');
  return { kind: 'Peer', name, gateways, origin };
}

function exportObject(spec: Obj, meta: Meta, origin: Origin): ExportObject {
  rejectUnknown(spec, 'spec', ['host', 'port']);
  if (spec.host === undefined || spec.host === '') {
    throw new FieldError(
      'spec.host',
      'is required without Kubernetes (there is no Service to default to): set host and port of the target',
    );
  }
  return {
    kind: 'Export',
    name: meta.name,
    namespace: meta.namespace,
    host: string(spec.host, 'spec.host'),
    port: integer(spec.port, 'spec.port', 1, 65535),
    labels: meta.labels,
    origin,
  };
}

function importObject(spec: Obj, meta: Meta, origin: Origin): ImportObject {
  rejectUnknown(spec, 'spec', ['port', 'targetPort', 'sources', 'lbScheme']);
  if (!isDnsLabel(meta.name)) {
    throw new FieldError(
      'metadata.name',
      `"${meta.name}" must be a DNS label for an Import (at most 63 characters)`,
    );
  }
  const port = integer(spec.port, 'spec.port', 1, 65535);
  const targetPort =
    spec.targetPort === undefined ? undefined : integer(spec.targetPort, 'spec.targetPort', 0, 65535);
  const sources = list(spec.sources, 'spec.sources').map((s, i) => {
    const field = `spec.sources[${i}]`;
    const src = object(s, field);
    rejectUnknown(src, field, ['peer', 'exportName', 'exportNamespace']);
    return {
      peer: dnsSubdomain(src.peer, `${field}.peer`),
      exportName: dnsSubdomain(src.exportName, `${field}.exportName`),
      exportNamespace: dnsLabel(src.exportNamespace, `${field}.exportNamespace`),
    };
  });
  if (sources.length === 0) throw new FieldError('spec.sources', 'must list at least one source');
  let lbScheme: LbScheme = 'round-robin';
  if (spec.lbScheme !== undefined) {
    if (!LB_SCHEMES.includes(spec.lbScheme as LbScheme)) {
      throw new FieldError(
        'spec.lbScheme',
        `must be one of ${LB_SCHEMES.join(', ')} (got ${describe(spec.lbScheme)})`,
      );
    }
    lbScheme = spec.lbScheme as LbScheme;
  }
  return {
    kind: 'Import',
    name: meta.name,
    namespace: meta.namespace,
    port,
    ...(targetPort !== undefined ? { targetPort } : {}),
    sources,
    lbScheme,
    labels: meta.labels,
    origin,
  };
}

function selector(v: unknown, field: string): LabelSelector {
  const sel = object(v, field);
  rejectUnknown(sel, field, ['matchLabels', 'matchExpressions']);
  const out: { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] } = {};
  if (sel.matchLabels !== undefined && sel.matchLabels !== null) {
    const ml = object(sel.matchLabels, `${field}.matchLabels`);
    out.matchLabels = {};
    for (const [k, val] of Object.entries(ml)) {
      if (typeof val !== 'string')
        throw new FieldError(`${field}.matchLabels.${k}`, `must be a string (got ${describe(val)})`);
      out.matchLabels[k] = val;
    }
  }
  if (sel.matchExpressions !== undefined && sel.matchExpressions !== null) {
    out.matchExpressions = list(sel.matchExpressions, `${field}.matchExpressions`).map((e, i) => {
      const f = `${field}.matchExpressions[${i}]`;
      const expr = object(e, f);
      rejectUnknown(expr, f, ['key', 'operator', 'values']);
      const key = string(expr.key, `${f}.key`);
      const operator = expr.operator as (typeof OPERATORS)[number];
      if (!OPERATORS.includes(operator)) {
        throw new FieldError(
          `${f}.operator`,
          `must be one of ${OPERATORS.join(', ')} (got ${describe(expr.operator)})`,
        );
      }
      const values =
        expr.values === undefined || expr.values === null
          ? []
          : list(expr.values, `${f}.values`).map((x, j) => {
              if (typeof x !== 'string')
                throw new FieldError(`${f}.values[${j}]`, `must be a string (got ${describe(x)})`);
              return x;
            });
      if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
        throw new FieldError(`${f}.values`, `must not be empty for operator ${operator}`);
      }
      if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
        throw new FieldError(`${f}.values`, `must be empty for operator ${operator}`);
      }
      return values.length ? { key, operator, values } : { key, operator };
    });
  }
  return out;
}

function workloads(v: unknown, field: string): WorkloadSetOrSelector[] {
  const items = list(v, field).map((item, i) => {
    const f = `${field}[${i}]`;
    const w = object(item, f);
    rejectUnknown(w, f, ['workloadSelector', 'workloadSets']);
    const hasSelector = w.workloadSelector !== undefined;
    const hasSets = w.workloadSets !== undefined;
    if (hasSelector === hasSets)
      throw new FieldError(f, 'must set exactly one of workloadSelector or workloadSets');
    if (hasSets) {
      return {
        workloadSets: list(w.workloadSets, `${f}.workloadSets`).map((s, j) =>
          string(s, `${f}.workloadSets[${j}]`),
        ),
      };
    }
    return { workloadSelector: selector(w.workloadSelector ?? {}, `${f}.workloadSelector`) };
  });
  if (items.length === 0) throw new FieldError(field, 'must list at least one item');
  return items;
}

function policy(kind: PolicyConfigObject['kind'], spec: Obj, meta: Meta, origin: Origin): PolicyConfigObject {
  rejectUnknown(spec, 'spec', ['action', 'from', 'to']);
  if (spec.action !== 'allow' && spec.action !== 'deny') {
    throw new FieldError('spec.action', `must be allow or deny (got ${describe(spec.action)})`);
  }
  const action: PolicyAction = spec.action;
  const from = workloads(spec.from, 'spec.from');
  const to = workloads(spec.to, 'spec.to');
  const namespace = kind === 'AccessPolicy' ? { namespace: meta.namespace } : {};
  return { kind, policy: { name: meta.name, ...namespace, spec: { action, from, to } }, origin };
}

interface Meta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

function metadata(doc: Obj, kind: Kind): Meta {
  const meta = object(doc.metadata, 'metadata');
  const name =
    kind === 'AccessPolicy' || kind === 'PrivilegedAccessPolicy'
      ? policyName(meta.name)
      : dnsSubdomain(meta.name, 'metadata.name');
  const namespace =
    meta.namespace === undefined ? DEFAULT_NAMESPACE : dnsLabel(meta.namespace, 'metadata.namespace');
  return { name, namespace, labels: labels(meta.labels, 'metadata.labels') };
}

/** Policy names are only keys for reporting, so anything printable without "/" is accepted. */
function policyName(v: unknown): string {
  const s = string(v, 'metadata.name');
  if (s.length > 253 || /[/\s]/.test(s))
    throw new FieldError('metadata.name', `"${s}" must not contain "/" or spaces`);
  return s;
}

/** Validates one parsed YAML document. Returns the object or a field-level error; never throws. */
export function validateDocument(doc: unknown, origin: Origin): ValidationResult {
  let kind: string | undefined;
  let name: string | undefined;
  let namespace: string | undefined;
  try {
    const root = object(doc, '(document)');
    if (isObject(root.metadata)) {
      if (typeof root.metadata.name === 'string') name = root.metadata.name;
      if (typeof root.metadata.namespace === 'string') namespace = root.metadata.namespace;
    }
    if (typeof root.kind === 'string') kind = root.kind;
    if (root.apiVersion !== API_GROUP_VERSION) {
      throw new FieldError('apiVersion', `must be ${API_GROUP_VERSION} (got ${describe(root.apiVersion)})`);
    }
    if (!KINDS.includes(root.kind as Kind)) {
      throw new FieldError('kind', `must be one of ${KINDS.join(', ')} (got ${describe(root.kind)})`);
    }
    const k = root.kind as Kind;
    const meta = metadata(root, k);
    const spec = object(root.spec, 'spec');
    switch (k) {
      case 'Peer':
        return { ok: true, object: peer(spec, meta.name, origin) };
      case 'Export':
        return { ok: true, object: exportObject(spec, meta, origin) };
      case 'Import':
        return { ok: true, object: importObject(spec, meta, origin) };
      case 'AccessPolicy':
      case 'PrivilegedAccessPolicy':
        return { ok: true, object: policy(k, spec, meta, origin) };
    }
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    return { ok: false, error: err.message, kind, name, namespace };
  }
}
