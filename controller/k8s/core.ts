/**
 * The slices of core Kubernetes kinds the control plane reads and writes, as plain JSON shapes
 * (the wire format: timestamps are strings). Only the fields we use are declared.
 */
import type { KubeObject } from './object';

export interface ServicePort {
  name?: string;
  protocol?: string;
  port: number;
  targetPort?: number | string;
  appProtocol?: string;
}

export interface Service extends KubeObject {
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    [k: string]: unknown;
  };
}

export interface EndpointSlice extends KubeObject {
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { kind: string; name: string; namespace: string; uid?: string };
  }[];
  ports?: { name?: string; port?: number; protocol?: string; appProtocol?: string }[];
}

export interface Pod extends KubeObject {
  spec?: { serviceAccountName?: string; hostNetwork?: boolean; [k: string]: unknown };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string }[];
  };
}

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}
