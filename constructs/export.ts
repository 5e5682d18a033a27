import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import * as cl from '../imports/clusterlink.net';
import {
  checkDnsLabel,
  checkLabels,
  checkObjectName,
  checkPort,
  checkServiceName,
  defined,
} from './validation';
import { objectMetadata } from './metadata';

/** Properties of {@link Export}. */
export interface ExportProps {
  /** Name of the export; without `host`, the Service of this name is exported. */
  readonly name: string;
  /** @default - the Chart's namespace (kubectl's current namespace if the Chart has none) */
  readonly namespace?: string;
  /** Host name or IP address of the exported service. @default - the Service <name>.<namespace> */
  readonly host?: string;
  /** Port of the exported service. @default - the port of the Service <name>.<namespace> */
  readonly port?: number;
  /** Labels; remote policies see them as export.clusterlink.net/labels.<key>. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A local service offered to remote peers. */
export class Export extends Construct {
  public readonly name: string;
  public readonly namespace?: string;
  public readonly resource: cl.Export;

  constructor(scope: Construct, id: string, props: ExportProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    this.resource = new cl.Export(this, 'Resource', {
      metadata: objectMetadata({ name: props.name, namespace: this.namespace, labels: props.labels }),
      spec: {
        ...(props.host !== undefined ? { host: props.host } : {}),
        ...(props.port !== undefined ? { port: props.port } : {}),
      },
    });
    this.node.addValidation({
      validate: () => [
        ...defined([
          props.host === undefined
            ? checkServiceName('Export name (it names the exported Service)', props.name)
            : checkObjectName('Export name', props.name),
          props.namespace !== undefined
            ? checkDnsLabel(`Export "${props.name}" namespace`, props.namespace)
            : undefined,
          props.host !== undefined && props.host.trim() === ''
            ? `Export "${props.name}" host is empty; leave it out to export the Service "${props.name}", or give a host`
            : undefined,
          props.port !== undefined ? checkPort(`Export "${props.name}" port`, props.port) : undefined,
        ]),
        ...checkLabels(`Export "${props.name}" label`, props.labels),
      ],
    });
  }
}
