/**
 * Configuration files of one test node, as pure functions of its addresses and folders: the
 * site's firewall, containerd, the CNI network, kubelet, kube-proxy and the cluster DNS add-on.
 * Nothing here starts a process; node.ts writes these files and runs the components.
 */

/** Addresses and names of one site (one single-node cluster). */
export interface NodeAddressing {
  /** Node name (also the site letter's cluster name). */
  readonly nodeName: string;
  /** The node's address on the fabric: its InternalIP, where NodePorts are reached. */
  readonly nodeIp: string;
  /** The fabric subnet (NodePorts are served on node addresses inside it). */
  readonly fabricSubnet: string;
  /** Pod CIDR of the node (CNI host-local range, kube-proxy clusterCIDR). */
  readonly podCidr: string;
  /** Service CIDR (API server --service-cluster-ip-range). */
  readonly serviceCidr: string;
  /** The `kubernetes` Service IP: the first address of the Service CIDR. */
  readonly apiServiceIp: string;
  /** The cluster DNS Service IP. */
  readonly dnsServiceIp: string;
  readonly clusterDomain: string;
}

/** Site `index` (1-based) of a fabric whose node addresses are `10.213.0.(10 + index)`. */
export function nodeAddressing(nodeName: string, index: number): NodeAddressing {
  if (index < 1 || index > 9) throw new Error(`site index must be 1..9, got ${index}`);
  return {
    nodeName,
    nodeIp: `10.213.0.${10 + index}`,
    fabricSubnet: '10.213.0.0/24',
    podCidr: `10.213.${10 + index}.0/24`,
    serviceCidr: `10.96.${index}.0/24`,
    apiServiceIp: `10.96.${index}.1`,
    dnsServiceIp: `10.96.${index}.10`,
    clusterDomain: 'cluster.local',
  };
}

/**
 * The site's own nftables table. From the fabric (fab0) only the ports in the set
 * `gateway_ports` (initially `openPorts`, see {@link openPortRule}) are admitted, both to
 * the node itself (input) and to Pods behind a NodePort (forward: matched on the original
 * destination port, before kube-proxy's DNAT). Everything else from the fabric is reset. Pod
 * traffic leaving for the fabric is masqueraded to the node address, as a cloud node's does:
 * other sites have no route to this site's Pod CIDR.
 */
export function nodeFirewall(openPorts: readonly number[]): string {
  const ports = openPorts.join(', ');
  return [
    'table inet clnode {',
    '  set gateway_ports {',
    '    type inet_service',
    `    elements = { ${ports} }`,
    '  }',
    '  chain input {',
    '    type filter hook input priority 0; policy accept;',
    '    iifname "fab0" ct state established,related accept',
    '    iifname "fab0" tcp dport @gateway_ports accept',
    '    iifname "fab0" meta l4proto tcp reject with tcp reset',
    '    iifname "fab0" meta l4proto udp reject',
    '  }',
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
    '    iifname "fab0" ct state established,related accept',
    '    iifname "fab0" meta l4proto tcp ct original proto-dst @gateway_ports accept',
    '    iifname "fab0" meta l4proto tcp reject with tcp reset',
    '    iifname "fab0" drop',
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    '    oifname "fab0" masquerade',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Admits one more port from the fabric (a gateway Service whose node port was allocated). */
export function openPortRule(port: number): string {
  return `add element inet clnode gateway_ports { ${port} }\n`;
}

export interface NodeFolders {
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly containerdSocket: string;
  readonly cniConfDir: string;
  readonly cniDataDir: string;
  readonly kubeletRoot: string;
  readonly podLogsDir: string;
  readonly resolvConf: string;
  readonly kubeconfig: string;
}

export const CNI_BIN_DIR = '/usr/lib/cni';

export function containerdConfig(folders: NodeFolders, sandboxImage: string): string {
  return [
    'version = 2',
    `root = ${JSON.stringify(folders.containerdRoot)}`,
    `state = ${JSON.stringify(folders.containerdState)}`,
    '[grpc]',
    `  address = ${JSON.stringify(folders.containerdSocket)}`,
    '[ttrpc]',
    `  address = ${JSON.stringify(`${folders.containerdSocket}.ttrpc`)}`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = ${JSON.stringify(sandboxImage)}`,
    // Lowering oom_score_adj is denied on this machine; runc then fails with "can't get final
    // child's PID from pipe: EOF".
    '  restrict_oom_score_adj = true',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = ${JSON.stringify(CNI_BIN_DIR)}`,
    `    conf_dir = ${JSON.stringify(folders.cniConfDir)}`,
    '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '    runtime_type = "io.containerd.runc.v2"',
    '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '      SystemdCgroup = false',
    '',
  ].join('\n');
}

/**
 * ptp (a veth per Pod, routed by the node) rather than a bridge: it needs no br_netfilter for
 * Service traffic between Pods of one node, since every packet is routed through the node's
 * namespace where kube-proxy's rules apply. portmap serves hostPort.
 */
export function cniConfig(addressing: NodeAddressing, folders: NodeFolders): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: `clnode-${addressing.nodeName}`,
      plugins: [
        {
          type: 'ptp',
          ipMasq: false,
          ipam: {
            type: 'host-local',
            subnet: addressing.podCidr,
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: folders.cniDataDir,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

export interface KubeletTuning {
  /** How often the kubelet re-syncs each Pod (also when mounted Secrets are refreshed). */
  readonly syncFrequency: string;
}

/** Kubelet settings for a node whose cgroups are v1 and whose container runtime is its own containerd. */
export function kubeletConfig(
  addressing: NodeAddressing,
  folders: NodeFolders,
  tuning: KubeletTuning,
): string {
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    containerRuntimeEndpoint: `unix://${folders.containerdSocket}`,
    // cgroup v1 (hybrid) without systemd managing the node: the kubelet writes cgroupfs itself and
    // creates no QoS or node-allocatable hierarchy.
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    // The API server reaches the kubelet for logs and exec; the node's firewall keeps the port off
    // the fabric.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    clusterDNS: [addressing.dnsServiceIp],
    clusterDomain: addressing.clusterDomain,
    resolvConf: folders.resolvConf,
    podLogsDir: folders.podLogsDir,
    syncFrequency: tuning.syncFrequency,
    serializeImagePulls: false,
    // Images are loaded, never pulled: garbage collection must not delete them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi' },
    maxPods: 60,
    registerNode: true,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export function kubeProxyConfig(addressing: NodeAddressing, folders: NodeFolders): string {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'nftables',
    clientConnection: { kubeconfig: folders.kubeconfig },
    hostnameOverride: addressing.nodeName,
    bindAddress: '0.0.0.0',
    clusterCIDR: addressing.podCidr,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    nodePortAddresses: [addressing.fabricSubnet],
    // conntrack limits are machine-wide on this kernel: leave them alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * CoreDNS as the cluster DNS add-on: a Deployment from the locally built image, its RBAC, and the
 * `kube-dns` Service on the fixed DNS IP the kubelet hands to Pods. It listens on 1053 as an
 * unprivileged user; the Service maps port 53 to it, so no capability is needed.
 */
export function clusterDnsManifests(addressing: NodeAddressing, image: string): string {
  const corefile = [
    '.:1053 {',
    '    errors',
    '    health :8080',
    '    ready :8181',
    `    kubernetes ${addressing.clusterDomain} in-addr.arpa ip6.arpa {`,
    '        pods insecure',
    '        fallthrough in-addr.arpa ip6.arpa',
    '        ttl 5',
    '    }',
    '    cache 5',
    '    loop',
    '    reload',
    '}',
  ].join('\n');
  const objects: unknown[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: 'kube-system' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:coredns' },
      rules: [
        {
          apiGroups: [''],
          resources: ['endpoints', 'services', 'pods', 'namespaces'],
          verbs: ['list', 'watch'],
        },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'coredns', namespace: 'kube-system' },
      data: { Corefile: corefile },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-dns' } },
          spec: {
            serviceAccountName: 'coredns',
            dnsPolicy: 'Default',
            containers: [
              {
                name: 'coredns',
                image,
                imagePullPolicy: 'Never',
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [
                  { name: 'dns', containerPort: 1053, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 1053, protocol: 'TCP' },
                ],
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 65532,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10 },
                volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        clusterIP: addressing.dnsServiceIp,
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, targetPort: 1053, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: 1053, protocol: 'TCP' },
        ],
      },
    },
  ];
  return objects.map((o) => JSON.stringify(o)).join('\n---\n');
}
