import { Construct } from 'constructs';
import * as cl from '../imports/clusterlink.net';
import { DEFAULT_NAMESPACE, GATEWAY_SERVICE_PORT } from './conventions';
import { checkDnsLabel, checkLabels, checkPort, defined } from './validation';
import { objectMetadata } from './metadata';

/** Where a remote gateway is reached. */
export interface GatewayAddress {
  /** Host name or IP address. */
  readonly host: string;
  /** @default 443 */
  readonly port?: number;
}

/** Properties of {@link Peer}. */
export interface PeerProps {
  /** The remote peer's name: the first DNS SAN of its certificate. */
  readonly name: string;
  /** The local gateway's namespace. @default 'clusterlink-system' */
  readonly namespace?: string;
  /** Addresses of the remote gateways, tried in order; at least one. */
  readonly gateways: readonly GatewayAddress[];
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A remote ClusterLink peer (site) this gateway connects to. */
export class Peer extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly resource: cl.Peer;

  constructor(scope: Construct, id: string, props: PeerProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace ?? DEFAULT_NAMESPACE;
    this.node.addValidation({
      validate: () => [
        ...defined([
          checkDnsLabel('Peer name', props.name),
          checkDnsLabel(`Peer "${props.name}" namespace`, this.namespace),
          props.gateways.length === 0
            ? `Peer "${props.name}" has no gateways; give at least one host and port`
            : undefined,
        ]),
        ...props.gateways.flatMap((g, i) =>
          defined([
            g.host.trim() === '' || /\s/.test(g.host)
              ? `Peer "${props.name}" gateways[${i}].host is "${g.host}"; give a host name or IP address without spaces`
              : undefined,
            checkPort(`Peer "${props.name}" gateways[${i}].port`, g.port ?? GATEWAY_SERVICE_PORT),
          ]),
        ),
        ...checkLabels(`Peer "${props.name}" label`, props.labels),
      ],
    });
    this.resource = new cl.Peer(this, 'Resource', {
      metadata: objectMetadata({ name: props.name, namespace: this.namespace, labels: props.labels }),
      spec: { gateways: props.gateways.map((g) => ({ host: g.host, port: g.port ?? GATEWAY_SERVICE_PORT })) },
    });
  }
}
