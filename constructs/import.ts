import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { IMPORT_MERGE_LABEL } from '../kernel/api/labels';
import * as cl from '../imports/clusterlink.net';
import type { ImportSpec } from '../imports/clusterlink.net.types';
import { LB_SCHEMES } from './crds/kinds';
import {
  checkDnsLabel,
  checkLabels,
  checkObjectName,
  checkPort,
  checkServiceName,
  defined,
} from './validation';
import { objectMetadata } from './metadata';

export type LbScheme = NonNullable<ImportSpec['lbScheme']>;

/** An export on a remote peer that an Import forwards to. */
export interface ImportSourceProps {
  /** Name of the remote Peer. */
  readonly peer: string;
  /** Name of the Export on that peer. @default - the Import's name */
  readonly exportName?: string;
  /** Namespace of the Export on that peer. @default - the Import's namespace */
  readonly exportNamespace?: string;
}

/** Properties of {@link Import}. */
export interface ImportProps {
  /** Name of the import: clients connect to the Service of this name. At most 63 characters. */
  readonly name: string;
  /** Namespace; needed when a source leaves exportNamespace out. @default - the Chart's namespace */
  readonly namespace?: string;
  /** Port of the local Service. */
  readonly port: number;
  /** Gateway listener port. @default - allocated by the control plane */
  readonly targetPort?: number;
  /** Remote exports to forward to; at least one. */
  readonly sources: readonly ImportSourceProps[];
  /** @default 'round-robin' */
  readonly lbScheme?: LbScheme;
  /** Add endpoints to an existing Service of this name instead of creating one. @default false */
  readonly merge?: boolean;
  /** Labels; policies see them as export.clusterlink.net/labels.<key> on this side. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A remote service made available locally as the Service <name>.<namespace>:<port>. */
export class Import extends Construct {
  public readonly name: string;
  public readonly namespace?: string;
  public readonly resource: cl.Import;

  constructor(scope: Construct, id: string, props: ImportProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    const labels = { ...props.labels, ...(props.merge ? { [IMPORT_MERGE_LABEL]: 'true' } : {}) };
    this.resource = new cl.Import(this, 'Resource', {
      metadata: objectMetadata({
        name: props.name,
        namespace: this.namespace,
        labels: Object.keys(labels).length > 0 ? labels : undefined,
      }),
      spec: {
        port: props.port,
        ...(props.targetPort !== undefined ? { targetPort: props.targetPort } : {}),
        sources: props.sources.map((s) => ({
          peer: s.peer,
          exportName: s.exportName ?? props.name,
          exportNamespace: s.exportNamespace ?? this.namespace ?? '',
        })),
        lbScheme: (props.lbScheme ?? 'round-robin') as cl.ImportSpecLbScheme,
      },
    });
    this.node.addValidation({ validate: () => validateImport(props, this.namespace) });
  }
}

function validateImport(props: ImportProps, namespace: string | undefined): string[] {
  const what = `Import "${props.name}"`;
  const errors = defined([
    checkServiceName('Import name (it becomes a Service name)', props.name),
    namespace !== undefined ? checkDnsLabel(`${what} namespace`, namespace) : undefined,
    checkPort(`${what} port`, props.port),
    props.targetPort !== undefined ? checkPort(`${what} targetPort`, props.targetPort, true) : undefined,
    props.lbScheme !== undefined && !LB_SCHEMES.includes(props.lbScheme)
      ? `${what} lbScheme "${props.lbScheme}" is unknown; use one of ${LB_SCHEMES.join(', ')}`
      : undefined,
    props.sources.length === 0
      ? `${what} has no sources; list at least one { peer, exportName, exportNamespace }`
      : undefined,
  ]);
  props.sources.forEach((s, i) => {
    errors.push(
      ...defined([
        checkDnsLabel(`${what} sources[${i}].peer`, s.peer),
        checkObjectName(`${what} sources[${i}].exportName`, s.exportName ?? props.name),
        s.exportNamespace === undefined && namespace === undefined
          ? `${what} sources[${i}] has no exportNamespace and the Import has no namespace; set one of them`
          : undefined,
        s.exportNamespace !== undefined
          ? checkDnsLabel(`${what} sources[${i}].exportNamespace`, s.exportNamespace)
          : undefined,
      ]),
    );
  });
  const seen = new Set<string>();
  for (const s of props.sources) {
    const key = `${s.peer}/${s.exportNamespace ?? namespace}/${s.exportName ?? props.name}`;
    if (seen.has(key)) errors.push(`${what} lists the source ${key} twice; remove the duplicate`);
    seen.add(key);
  }
  errors.push(...checkLabels(`${what} label`, props.labels));
  return errors;
}
