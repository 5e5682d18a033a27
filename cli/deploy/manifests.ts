/**
 * The objects of one site, built with the construct library: the CRDs, then the gateway
 * (Namespace, RBAC, Deployments, Services) with its certificate Secrets.
 */
import { App, Chart } from 'cdk8s';
import {
  ClusterLinkCrds,
  ClusterLinkGateway,
  type GatewayServiceType,
  type LogLevel,
} from '../../constructs';
import { usageError } from '../errors';

export interface SiteManifestOptions {
  readonly namespace: string;
  readonly ingress: GatewayServiceType;
  /** Service port (ClusterIP, LoadBalancer) or node port (NodePort). */
  readonly ingressPort?: number;
  readonly peerLabels: Readonly<Record<string, string>>;
  readonly dataplaneReplicas: number;
  readonly image?: string;
  readonly logLevel: LogLevel;
  readonly certificates: { readonly ca: string; readonly cert: string; readonly key: string };
}

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function siteManifests(options: SiteManifestOptions): KubeManifest[] {
  const app = new App({ outdir: '/nonexistent' /* never written: objects are taken from toJson() */ });
  const crds = new Chart(app, 'crds');
  new ClusterLinkCrds(crds, 'crds');
  const gatewayChart = new Chart(app, 'gateway');
  const nodePortService = options.ingress === 'NodePort';
  new ClusterLinkGateway(gatewayChart, 'gateway', {
    namespace: options.namespace,
    ...(options.image ? { image: options.image } : {}),
    peerLabels: options.peerLabels,
    logLevel: options.logLevel,
    dataPlane: { replicas: options.dataplaneReplicas },
    service: {
      type: options.ingress,
      ...(options.ingressPort !== undefined
        ? nodePortService
          ? { nodePort: options.ingressPort }
          : { port: options.ingressPort }
        : {}),
    },
    certificates: {
      caPem: options.certificates.ca,
      certPem: options.certificates.cert,
      keyPem: options.certificates.key,
    },
  });
  try {
    return [...(crds.toJson() as KubeManifest[]), ...(gatewayChart.toJson() as KubeManifest[])];
  } catch (err) {
    // Construct validation names the property; map it to our flags.
    const message = (err as Error).message
      .replace(/service\.nodePort/g, '--ingress-port')
      .replace(/service\.type/g, '--ingress');
    throw usageError(message);
  }
}

/** Apply order: CRDs and cluster-scoped objects, the Namespace, then what lives in it. */
export function applyOrder(objects: readonly KubeManifest[]): KubeManifest[] {
  const rank = (o: KubeManifest) =>
    o.kind === 'CustomResourceDefinition' ? 0 : o.kind === 'Namespace' ? 1 : o.metadata.namespace ? 3 : 2;
  return [...objects].sort((a, b) => rank(a) - rank(b));
}
