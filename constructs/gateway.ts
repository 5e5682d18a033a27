import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { API_GROUP } from '../kernel/api/labels';
import { clusterScoped } from './cluster-scoped';
import {
  ADMIN_PORT,
  CA_FILE,
  CERT_DIR,
  CERT_FILE,
  COMPONENT_LABEL,
  CONTROLPLANE_NAME,
  DATAPLANE_NAME,
  DEFAULT_IMAGE,
  DEFAULT_NAMESPACE,
  FABRIC_SECRET,
  GATEWAY_CONTAINER_PORT,
  GATEWAY_SERVICE_PORT,
  KEY_FILE,
  PEER_SECRET,
  SNAPSHOT_PORT,
  commonLabels,
  isLogLevel,
  LOG_LEVELS,
  type LogLevel,
} from './conventions';
import { checkDnsLabel, checkLabels, checkObjectName, checkPort, defined } from './validation';

export type GatewayServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

/** CPU and memory for one container, as Kubernetes quantities ("250m", "256Mi"). */
export interface ContainerResources {
  /** @default see the component */
  readonly cpuRequest?: string;
  /** @default see the component */
  readonly memoryRequest?: string;
  /** @default - no CPU limit (throttling a proxy adds latency to every tunnel) */
  readonly cpuLimit?: string;
  /** @default see the component */
  readonly memoryLimit?: string;
}

/** Settings of one of the two Deployments. */
export interface GatewayComponentOptions {
  /**
   * Number of Pods. Safe above 1 for both: the control plane elects a leader through a Lease, the
   * data plane is stateless.
   * @default 1
   */
  readonly replicas?: number;
  /** @default control plane: 100m CPU / 128Mi requested, 512Mi limit; data plane: 250m / 128Mi, 1Gi limit */
  readonly resources?: ContainerResources;
}

/** The gateway Service remote peers connect to. */
export interface GatewayServiceOptions {
  /** @default 'LoadBalancer' */
  readonly type?: GatewayServiceType;
  /** Service port peers connect to. @default 443 */
  readonly port?: number;
  /** Fixed node port (30000-32767) for type NodePort or LoadBalancer. @default - allocated by Kubernetes */
  readonly nodePort?: number;
  /** Annotations, e.g. for a cloud load balancer. @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * This peer's certificates. Either name existing Secrets (the default: `cl-fabric` with key ca.pem,
 * `cl-peer` with keys cert.pem and key.pem, as `clusterlink create` writes them), or give PEM text
 * and the Secrets are created (the private key then ends up in the synthesized YAML: keep it out of
 * version control).
 */
export interface GatewayCertificates {
  /** Secret holding ca.pem (the fabric CA certificate). @default 'cl-fabric' */
  readonly fabricSecretName?: string;
  /** Secret holding cert.pem and key.pem (this peer). @default 'cl-peer' */
  readonly peerSecretName?: string;
  /** PEM of the fabric CA certificate: creates the fabric Secret. @default - reference the Secret */
  readonly caPem?: string;
  /** PEM of this peer's certificate (with certPem and keyPem: creates the peer Secret). @default - reference the Secret */
  readonly certPem?: string;
  /** PEM of this peer's private key. @default - reference the Secret */
  readonly keyPem?: string;
}

/** Properties of {@link ClusterLinkGateway}. */
export interface ClusterLinkGatewayProps {
  /** Namespace of the gateway (Peers live here too). @default - the Chart's namespace, else 'clusterlink-system' */
  readonly namespace?: string;
  /** Create the Namespace object. @default true */
  readonly createNamespace?: boolean;
  /** Container image of both processes. @default 'ghcr.io/clusterlink-ts/clusterlink:<version>' */
  readonly image?: string;
  /** @default 'IfNotPresent' */
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Labels of this peer, sent to remote peers and matched by their policies. @default - none */
  readonly peerLabels?: Readonly<Record<string, string>>;
  /** @default 'info' */
  readonly logLevel?: LogLevel;
  /** @default - 1 replica, see {@link GatewayComponentOptions} */
  readonly controlPlane?: GatewayComponentOptions;
  /** @default - 1 replica, see {@link GatewayComponentOptions} */
  readonly dataPlane?: GatewayComponentOptions;
  /** @default - LoadBalancer on port 443 */
  readonly service?: GatewayServiceOptions;
  /** @default - Secrets cl-fabric and cl-peer, created beforehand */
  readonly certificates?: GatewayCertificates;
}

const CONTROLPLANE_RESOURCES: ContainerResources = {
  cpuRequest: '100m',
  memoryRequest: '128Mi',
  memoryLimit: '512Mi',
};
const DATAPLANE_RESOURCES: ContainerResources = {
  cpuRequest: '250m',
  memoryRequest: '128Mi',
  memoryLimit: '1Gi',
};
/** The numeric uid/gid of the image's unprivileged user (numeric so runAsNonRoot can be verified). */
const RUN_AS_USER = 1000;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[\s\S]+-----END ([A-Z]+ )?PRIVATE KEY-----/;

/**
 * A ClusterLink gateway in one cluster: Namespace, ServiceAccounts, least-privilege RBAC, the
 * control-plane Deployment (leader-elected) and its snapshot Service, the data-plane Deployment,
 * the gateway Service and, optionally, the certificate Secrets. The CRDs are separate
 * ({@link ClusterLinkCrds}).
 */
export class ClusterLinkGateway extends Construct {
  public readonly namespace: string;
  public readonly controlPlane: k8s.KubeDeployment;
  public readonly dataPlane: k8s.KubeDeployment;
  public readonly gatewayService: k8s.KubeService;
  public readonly controlPlaneService: k8s.KubeService;
  public readonly clusterRole: k8s.KubeClusterRole;
  public readonly role: k8s.KubeRole;

  constructor(scope: Construct, id: string, props: ClusterLinkGatewayProps = {}) {
    super(scope, id);
    const namespace = props.namespace ?? Chart.of(this).namespace ?? DEFAULT_NAMESPACE;
    this.namespace = namespace;
    const certificates = props.certificates ?? {};
    const fabricSecret = certificates.fabricSecretName ?? FABRIC_SECRET;
    const peerSecret = certificates.peerSecretName ?? PEER_SECRET;

    this.node.addValidation({ validate: () => validateProps(props, namespace) });

    if (props.createNamespace ?? true) {
      clusterScoped(
        new k8s.KubeNamespace(this, 'Namespace', {
          metadata: { name: namespace, labels: commonLabels(namespace) },
        }),
      );
    }
    if (certificates.caPem !== undefined) {
      new k8s.KubeSecret(this, 'FabricSecret', {
        metadata: { name: fabricSecret, namespace, labels: commonLabels(fabricSecret) },
        stringData: { [CA_FILE]: certificates.caPem },
      });
    }
    if (certificates.certPem !== undefined || certificates.keyPem !== undefined) {
      new k8s.KubeSecret(this, 'PeerSecret', {
        metadata: { name: peerSecret, namespace, labels: commonLabels(peerSecret) },
        type: 'Opaque',
        stringData: { [CERT_FILE]: certificates.certPem ?? '', [KEY_FILE]: certificates.keyPem ?? '' },
      });
    }

    const rbac = this.rbac(namespace);
    this.clusterRole = rbac.clusterRole;
    this.role = rbac.role;

    new k8s.KubeServiceAccount(this, 'DataPlaneServiceAccount', {
      metadata: { name: DATAPLANE_NAME, namespace, labels: commonLabels(DATAPLANE_NAME) },
      // The data plane never talks to the API server: it gets its snapshot from the control plane.
      automountServiceAccountToken: false,
    });

    const certVolume = certificateVolume(fabricSecret, peerSecret);
    const common = {
      image: props.image ?? DEFAULT_IMAGE,
      imagePullPolicy: props.imagePullPolicy ?? 'IfNotPresent',
      env: [
        { name: 'CL_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'CL_CERT_DIR', value: CERT_DIR },
        { name: 'CL_LOG_LEVEL', value: props.logLevel ?? 'info' },
        { name: 'CL_ADMIN_PORT', value: String(ADMIN_PORT) },
      ],
    };

    this.controlPlane = new k8s.KubeDeployment(this, 'ControlPlane', {
      metadata: { name: CONTROLPLANE_NAME, namespace, labels: commonLabels(CONTROLPLANE_NAME) },
      spec: {
        replicas: props.controlPlane?.replicas ?? 1,
        selector: { matchLabels: commonLabels(CONTROLPLANE_NAME) },
        template: {
          metadata: { labels: { ...commonLabels(CONTROLPLANE_NAME), [COMPONENT_LABEL]: 'controlplane' } },
          spec: {
            serviceAccountName: CONTROLPLANE_NAME,
            // The controller watches and writes through the API server.
            automountServiceAccountToken: true,
            securityContext: podSecurityContext(),
            affinity: spreadAcrossNodes(CONTROLPLANE_NAME),
            volumes: [certVolume],
            containers: [
              {
                name: 'controlplane',
                ...common,
                args: ['controlplane'],
                env: [...common.env, { name: 'CL_PEER_LABELS', value: formatPeerLabels(props.peerLabels) }],
                ports: [
                  { name: 'snapshots', containerPort: SNAPSHOT_PORT, protocol: 'TCP' },
                  { name: 'admin', containerPort: ADMIN_PORT, protocol: 'TCP' },
                ],
                ...probes(),
                resources: resourceRequirements(props.controlPlane?.resources, CONTROLPLANE_RESOURCES),
                securityContext: containerSecurityContext(),
                volumeMounts: [{ name: certVolume.name, mountPath: CERT_DIR, readOnly: true }],
              },
            ],
          },
        },
      },
    });

    this.controlPlaneService = new k8s.KubeService(this, 'ControlPlaneService', {
      metadata: { name: CONTROLPLANE_NAME, namespace, labels: commonLabels(CONTROLPLANE_NAME) },
      spec: {
        type: 'ClusterIP',
        selector: commonLabels(CONTROLPLANE_NAME),
        ports: [
          {
            name: 'snapshots',
            port: SNAPSHOT_PORT,
            targetPort: k8s.IntOrString.fromString('snapshots'),
            protocol: 'TCP',
          },
        ],
      },
    });

    this.dataPlane = new k8s.KubeDeployment(this, 'DataPlane', {
      metadata: { name: DATAPLANE_NAME, namespace, labels: commonLabels(DATAPLANE_NAME) },
      spec: {
        replicas: props.dataPlane?.replicas ?? 1,
        selector: { matchLabels: commonLabels(DATAPLANE_NAME) },
        template: {
          metadata: { labels: { ...commonLabels(DATAPLANE_NAME), [COMPONENT_LABEL]: 'dataplane' } },
          spec: {
            serviceAccountName: DATAPLANE_NAME,
            automountServiceAccountToken: false,
            securityContext: podSecurityContext(),
            affinity: spreadAcrossNodes(DATAPLANE_NAME),
            // Time to drain open tunnels after SIGTERM.
            terminationGracePeriodSeconds: 60,
            volumes: [certVolume],
            containers: [
              {
                name: 'dataplane',
                ...common,
                args: ['dataplane'],
                env: [
                  ...common.env,
                  {
                    name: 'CL_CONTROLPLANE',
                    value: `${CONTROLPLANE_NAME}.${namespace}.svc:${SNAPSHOT_PORT}`,
                  },
                  { name: 'CL_GATEWAY_PORT', value: String(GATEWAY_CONTAINER_PORT) },
                ],
                ports: [
                  { name: 'gateway', containerPort: GATEWAY_CONTAINER_PORT, protocol: 'TCP' },
                  { name: 'admin', containerPort: ADMIN_PORT, protocol: 'TCP' },
                ],
                ...probes(),
                resources: resourceRequirements(props.dataPlane?.resources, DATAPLANE_RESOURCES),
                securityContext: containerSecurityContext(),
                volumeMounts: [{ name: certVolume.name, mountPath: CERT_DIR, readOnly: true }],
              },
            ],
          },
        },
      },
    });

    const service = props.service ?? {};
    const serviceType = service.type ?? 'LoadBalancer';
    this.gatewayService = new k8s.KubeService(this, 'GatewayService', {
      metadata: {
        name: DATAPLANE_NAME,
        namespace,
        labels: commonLabels(DATAPLANE_NAME),
        ...(service.annotations ? { annotations: { ...service.annotations } } : {}),
      },
      spec: {
        type: serviceType,
        selector: commonLabels(DATAPLANE_NAME),
        ports: [
          {
            name: 'gateway',
            port: service.port ?? GATEWAY_SERVICE_PORT,
            targetPort: k8s.IntOrString.fromString('gateway'),
            protocol: 'TCP',
            ...(service.nodePort !== undefined ? { nodePort: service.nodePort } : {}),
          },
        ],
      },
    });
  }

  /** Exactly what the control plane reads and writes; nothing else. */
  private rbac(namespace: string): { clusterRole: k8s.KubeClusterRole; role: k8s.KubeRole } {
    const clusterWideName = `${CONTROLPLANE_NAME}-${namespace}`;
    const labels = commonLabels(CONTROLPLANE_NAME);
    new k8s.KubeServiceAccount(this, 'ControlPlaneServiceAccount', {
      metadata: { name: CONTROLPLANE_NAME, namespace, labels },
    });
    const subjects = [{ kind: 'ServiceAccount', name: CONTROLPLANE_NAME, namespace }];
    const clusterRole = clusterScoped(
      new k8s.KubeClusterRole(this, 'ClusterRole', {
        metadata: { name: clusterWideName, labels },
        rules: [
          {
            apiGroups: [API_GROUP],
            resources: ['peers', 'exports', 'imports', 'accesspolicies', 'privilegedaccesspolicies'],
            verbs: ['get', 'list', 'watch'],
          },
          {
            apiGroups: [API_GROUP],
            resources: ['peers/status', 'exports/status', 'imports/status'],
            verbs: ['update', 'patch'],
          },
          // An Import's allocated targetPort is written back into its spec.
          { apiGroups: [API_GROUP], resources: ['imports'], verbs: ['update', 'patch'] },
          // Services and EndpointSlices for Imports, in the Imports' namespaces.
          {
            apiGroups: [''],
            resources: ['services'],
            verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
          },
          {
            apiGroups: ['discovery.k8s.io'],
            resources: ['endpointslices'],
            verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
          },
          // Client attributes (namespace, service account, labels) by source IP.
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
        ],
      }),
    );
    clusterScoped(
      new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
        metadata: { name: clusterWideName, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterWideName },
        subjects,
      }),
    );
    const role = new k8s.KubeRole(this, 'Role', {
      metadata: { name: CONTROLPLANE_NAME, namespace, labels },
      rules: [
        // Leader election.
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
        // The key that signs access tokens, shared by every replica.
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: CONTROLPLANE_NAME, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: CONTROLPLANE_NAME },
      subjects,
    });
    return { clusterRole, role };
  }
}

function validateProps(props: ClusterLinkGatewayProps, namespace: string): string[] {
  const certificates = props.certificates ?? {};
  const service = props.service ?? {};
  const errors = defined([
    checkDnsLabel('namespace', namespace),
    props.image !== undefined && props.image.trim() === ''
      ? 'image is empty; give an image reference'
      : undefined,
    props.logLevel !== undefined && !isLogLevel(props.logLevel)
      ? `logLevel "${props.logLevel}" is unknown; use one of ${LOG_LEVELS.join(', ')}`
      : undefined,
    replicasError('controlPlane.replicas', props.controlPlane?.replicas),
    replicasError('dataPlane.replicas', props.dataPlane?.replicas),
    service.type !== undefined && !['ClusterIP', 'NodePort', 'LoadBalancer'].includes(service.type)
      ? `service.type "${service.type}" is unknown; use ClusterIP, NodePort or LoadBalancer`
      : undefined,
    service.port !== undefined ? checkPort('service.port', service.port) : undefined,
    service.nodePort !== undefined && (service.type ?? 'LoadBalancer') === 'ClusterIP'
      ? 'service.nodePort needs service.type NodePort or LoadBalancer'
      : undefined,
    service.nodePort !== undefined &&
    (!Number.isInteger(service.nodePort) || service.nodePort < 30000 || service.nodePort > 32767)
      ? `service.nodePort is ${service.nodePort}; use a port from 30000 to 32767 (the default node port range)`
      : undefined,
    certificates.fabricSecretName !== undefined
      ? checkObjectName('certificates.fabricSecretName', certificates.fabricSecretName)
      : undefined,
    certificates.peerSecretName !== undefined
      ? checkObjectName('certificates.peerSecretName', certificates.peerSecretName)
      : undefined,
    certificates.caPem !== undefined && !PEM_CERTIFICATE.test(certificates.caPem)
      ? 'certificates.caPem is not a PEM certificate (-----BEGIN CERTIFICATE-----)'
      : undefined,
    certificates.certPem !== undefined && !PEM_CERTIFICATE.test(certificates.certPem)
      ? 'certificates.certPem is not a PEM certificate (-----BEGIN CERTIFICATE-----)'
      : undefined,
    certificates.keyPem !== undefined && !PEM_PRIVATE_KEY.test(certificates.keyPem)
      ? 'certificates.keyPem is not a PEM private key (-----BEGIN PRIVATE KEY-----)'
      : undefined,
    (certificates.certPem === undefined) !== (certificates.keyPem === undefined)
      ? 'certificates: give certPem and keyPem together (they form the peer Secret), or neither to use an existing Secret'
      : undefined,
  ]);
  errors.push(...checkLabels('peerLabels', props.peerLabels));
  for (const [key, value] of Object.entries(props.peerLabels ?? {})) {
    if (/[,=]/.test(key) || /[,=]/.test(value))
      errors.push(`peerLabels "${key}": keys and values cannot contain ',' or '='`);
  }
  for (const [name, resources] of [
    ['controlPlane', props.controlPlane?.resources],
    ['dataPlane', props.dataPlane?.resources],
  ] as const) {
    for (const [field, value] of Object.entries(resources ?? {})) {
      if (value !== undefined && !/^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.test(value)) {
        errors.push(
          `${name}.resources.${field} "${value}" is not a Kubernetes quantity; write e.g. "250m" or "256Mi"`,
        );
      }
    }
  }
  return errors;
}

function replicasError(what: string, replicas: number | undefined): string | undefined {
  if (replicas === undefined || (Number.isInteger(replicas) && replicas >= 0)) return undefined;
  return `${what} is ${replicas}; use a whole number, 0 or more`;
}

/** CL_PEER_LABELS: "k=v,k2=v2", sorted so the output is stable. */
function formatPeerLabels(labels: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** ca.pem, cert.pem and key.pem in one folder, from the two Secrets. */
function certificateVolume(fabricSecret: string, peerSecret: string): k8s.Volume & { name: string } {
  return {
    name: 'certificates',
    projected: {
      // Group-readable for the fsGroup the processes run with; nobody else.
      defaultMode: 0o440,
      sources: [
        { secret: { name: fabricSecret, items: [{ key: CA_FILE, path: CA_FILE }] } },
        {
          secret: {
            name: peerSecret,
            items: [
              { key: CERT_FILE, path: CERT_FILE },
              { key: KEY_FILE, path: KEY_FILE },
            ],
          },
        },
      ],
    },
  };
}

function podSecurityContext(): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS_USER,
    runAsGroup: RUN_AS_USER,
    fsGroup: RUN_AS_USER,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function containerSecurityContext(): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

/**
 * A startup probe gates the liveness probe: on a busy node a process can take longer to start
 * than any fixed initial delay, and a liveness probe that fires during start-up kills it and
 * starts it again, slower still (seen on 2-core test nodes at load 20). Up to 3 minutes to start,
 * then a process that stops answering /healthz for 30 s is restarted.
 */
function probes(): Pick<k8s.Container, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> {
  const get = (path: string) => ({ httpGet: { path, port: k8s.IntOrString.fromString('admin') } });
  return {
    startupProbe: { ...get('/healthz'), periodSeconds: 2, failureThreshold: 90, timeoutSeconds: 2 },
    readinessProbe: { ...get('/readyz'), periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 2 },
    livenessProbe: { ...get('/healthz'), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 },
  };
}

function resourceRequirements(
  given: ContainerResources | undefined,
  defaults: ContainerResources,
): k8s.ResourceRequirements {
  const r = { ...defaults, ...given };
  const quantities = (entries: [string, string | undefined][]) =>
    Object.fromEntries(
      entries
        .filter((e): e is [string, string] => e[1] !== undefined)
        .map(([k, v]) => [k, k8s.Quantity.fromString(v)]),
    );
  return {
    requests: quantities([
      ['cpu', r.cpuRequest],
      ['memory', r.memoryRequest],
    ]),
    limits: quantities([
      ['cpu', r.cpuLimit],
      ['memory', r.memoryLimit],
    ]),
  };
}

/** Prefer replicas on different nodes, so one node failing leaves the gateway up. */
function spreadAcrossNodes(name: string): k8s.Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: 'kubernetes.io/hostname',
            labelSelector: { matchLabels: commonLabels(name) },
          },
        },
      ],
    },
  };
}
