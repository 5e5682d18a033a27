/**
 * Deployment conventions every part of ClusterLink agrees on in Kubernetes mode: names, ports,
 * labels and paths. The constructs (which write the manifests), the control plane, the data plane
 * and the CLI (which default to them) all read them from here. Pure, no imports.
 */

export const CLUSTERLINK_VERSION = '0.1.0';

export const DEFAULT_NAMESPACE = 'clusterlink-system';
export const DEFAULT_IMAGE = `ghcr.io/clusterlink-ts/clusterlink:${CLUSTERLINK_VERSION}`;

export const CONTROLPLANE_NAME = 'cl-controlplane';
export const DATAPLANE_NAME = 'cl-dataplane';
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const PART_OF_VALUE = 'clusterlink';
export const NAME_LABEL = 'app.kubernetes.io/name';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** The gateway Service port peers connect to, and the non-root container port behind it. */
export const GATEWAY_SERVICE_PORT = 443;
export const GATEWAY_CONTAINER_PORT = 8443;
/** The control plane serves data-plane snapshots here (mTLS, the site's peer certificate). */
export const SNAPSHOT_PORT = 9444;
/** /healthz, /readyz and /metrics of both processes. */
export const ADMIN_PORT = 9090;

/** Log levels, most severe first; `silent` turns logging off. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
/** The environment variable that sets the log level of every process (Deployments set it). */
export const LOG_LEVEL_ENV = 'CL_LOG_LEVEL';
/** The former name of LOG_LEVEL_ENV, still read (with a deprecation warning) when that is unset. */
export const DEPRECATED_LOG_LEVEL_ENV = 'CLUSTERLINK_LOG_LEVEL';

export const CERT_DIR = '/etc/clusterlink';
export const FABRIC_SECRET = 'cl-fabric';
export const PEER_SECRET = 'cl-peer';
export const CA_FILE = 'ca.pem';
export const CERT_FILE = 'cert.pem';
export const KEY_FILE = 'key.pem';
