/**
 * ClusterLink on real Kubernetes sites: every gateway is a Pod that a kubelet started from the
 * image, every client is a Pod that reaches an Import's Service by its DNS name through CoreDNS
 * and kube-proxy, and sites reach each other only through the gateway's node port. See
 * docs/testing.md ("Real Kubernetes sites") for the topology and how each site is installed.
 *
 * Each scenario leaves the world as it found it (in `finally`), and waits on observable state
 * (rollouts, conditions, answers) rather than for fixed times, so one failure does not cascade.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBits, printSummary, scenario } from '../e2e/harness/summary';
import { eventually } from '../e2e/harness/world';
import { run } from '../harness/procs';
import type { KubeNode } from './harness/node';
import {
  cli,
  fabricObjects,
  GATEWAY_NAMESPACE,
  SITE_NAMES,
  startClusterWorld,
  stopClusterWorld,
  type ClusterWorld,
  type SiteName,
} from './harness/world';
import {
  backendManifests,
  clientPodManifest,
  CLIENTS,
  echoFrom,
  execIn,
  IPERF_PORT,
  REDIS_PORT,
  type ClientPod,
} from './harness/workloads';
import { gatewayPods, containerProcess, podUsage, waitForLeader } from './harness/inspect';

jest.setTimeout(240_000);

let world: ClusterWorld;
const figures: string[] = [];
const ECHO_HOST = 'echo.default.svc.cluster.local';
const CLIENT = CLIENTS.client;

function site(name: SiteName): KubeNode {
  return world.sites[name].node;
}

async function applyYaml(node: KubeNode, yaml: string): Promise<void> {
  await node.kubectlOk(['apply', '-f', '-'], { input: yaml });
}

/** The echo Import at site a: sources b then c (the Fabric's order), with the given scheme. */
async function setEchoScheme(scheme: 'round-robin' | 'random' | 'static'): Promise<void> {
  await site('a').kubectlOk([
    '-n',
    'default',
    'patch',
    'imports.clusterlink.net',
    'echo',
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { lbScheme: scheme } }),
  ]);
}

async function answers(count: number, pod: ClientPod = CLIENT): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const answer = await echoFrom(site('a'), pod, ECHO_HOST);
    const key = answer.site ?? 'error';
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
}

async function rollout(node: KubeNode, namespace: string, deployment: string): Promise<void> {
  await node.kubectlOk(['-n', namespace, 'rollout', 'status', `deployment/${deployment}`, '--timeout=180s'], {
    timeoutMs: 190_000,
  });
}

async function scale(node: KubeNode, deployment: string, replicas: number): Promise<void> {
  await node.kubectlOk([
    '-n',
    GATEWAY_NAMESPACE,
    'scale',
    `deployment/${deployment}`,
    `--replicas=${replicas}`,
  ]);
  await rollout(node, GATEWAY_NAMESPACE, deployment);
}

beforeAll(async () => {
  world = await startClusterWorld();
  for (const name of SITE_NAMES) {
    const s = world.sites[name];
    figures.push(
      `site ${name} (${s.installedWith}): empty node to Ready gateway ${(s.readyMs! / 1000).toFixed(1)} s ` +
        `(API server ${(s.node.startup.apiServerReady! / 1000).toFixed(1)} s, node Ready ${(s.node.startup.nodeReady! / 1000).toFixed(1)} s, DNS ${(s.node.startup.dnsReady! / 1000).toFixed(1)} s)`,
    );
  }
  // Backends at both exporting sites, clients at the importing one, and the fabric's objects.
  for (const name of ['b', 'c'] as const) await applyYaml(site(name), backendManifests(name));
  await site('a').kubectlOk(['create', 'namespace', 'guests']);
  await site('a').kubectlOk(['-n', 'default', 'create', 'serviceaccount', 'robot']);
  for (const pod of Object.values(CLIENTS)) await applyYaml(site('a'), clientPodManifest(pod));
  const objects = fabricObjects(world, [
    {
      name: 'echo',
      port: 8080,
      exportedBy: ['site-b', 'site-c'],
      importedBy: ['site-a'],
      allowedClients: { namespaces: ['default'], labels: { app: 'client' } },
    },
    { name: 'iperf3', port: IPERF_PORT, exportedBy: 'site-b', importedBy: ['site-a'] },
    { name: 'redis', port: REDIS_PORT, exportedBy: 'site-c', importedBy: ['site-a'] },
  ]);
  for (const name of SITE_NAMES) await applyYaml(site(name), objects[name]);
  for (const name of ['b', 'c'] as const) await rollout(site(name), 'default', 'backend');
  for (const pod of Object.values(CLIENTS)) {
    await site('a').kubectlOk(
      ['-n', pod.namespace, 'wait', '--for=condition=Ready', `pod/${pod.name}`, '--timeout=120s'],
      {
        timeoutMs: 130_000,
      },
    );
  }
}, 1_500_000);

afterAll(async () => {
  if (world) {
    figures.push(`whole suite: ${((Date.now() - world.startedAt) / 1000).toFixed(0)} s`);
    process.stdout.write(`\n== real Kubernetes sites: figures\n${figures.map((f) => `- ${f}`).join('\n')}\n`);
  }
  printSummary('real Kubernetes sites');
  await stopClusterWorld(world ?? {});
}, 180_000);

scenario('gateway Pods are Ready, run as non-root with no capabilities on a read-only root', async () => {
  const checked: string[] = [];
  for (const name of SITE_NAMES) {
    const node = site(name);
    const pods = await gatewayPods(node);
    expect(pods.length).toBeGreaterThanOrEqual(2);
    for (const pod of pods) {
      expect(pod.ready).toBe(true);
      for (const c of pod.containers) {
        expect(c.readinessProbe).toBe(true);
        const proc = await containerProcess(node, c.containerId);
        expect(proc.uids).toEqual(['1000', '1000', '1000', '1000']);
        expect(proc.capEff).toBe('0000000000000000');
        expect(proc.noNewPrivs).toBe(true);
        expect(proc.rootReadOnly).toBe(true);
        checked.push(`${name}/${pod.name}/${c.name}`);
      }
    }
  }
  return `${checked.length} gateway containers: uid 1000, CapEff 0, NoNewPrivs, ro root`;
});

scenario('a client Pod reaches Imports by DNS name: curl, iperf3, redis-benchmark', async () => {
  const lookup = await execIn(site('a'), CLIENT, ['nslookup', ECHO_HOST]);
  expect(lookup.code).toBe(0);
  const seen = await eventually(
    async () => {
      const s = await answers(4);
      expect(s.error).toBeUndefined();
      return s;
    },
    60_000,
    1_000,
  );
  expect(Object.keys(seen).sort()).toEqual(['b', 'c']);

  const iperf = await execIn(
    site('a'),
    CLIENT,
    ['iperf3', '-c', 'iperf3.default.svc.cluster.local', '-p', String(IPERF_PORT), '-t', '5', '-J'],
    60_000,
  );
  expect(iperf.code).toBe(0);
  const report = JSON.parse(iperf.stdout) as {
    end: { sum_received: { bits_per_second: number; bytes: number } };
  };
  expect(report.end.sum_received.bytes).toBeGreaterThan(1_000_000);
  const redis = await execIn(
    site('a'),
    CLIENT,
    [
      'redis-benchmark',
      '-h',
      'redis.default.svc.cluster.local',
      '-p',
      String(REDIS_PORT),
      '-n',
      '5000',
      '-c',
      '10',
      '-t',
      'set,get',
      '--csv',
    ],
    120_000,
  );
  expect(redis.code).toBe(0);
  const rps = [...redis.stdout.matchAll(/^"(SET|GET)","([\d.]+)"/gm)].map(
    (m) => `${m[1]} ${Math.round(Number(m[2]))}/s`,
  );
  expect(rps).toHaveLength(2);
  const figure = `iperf3 a->b ${formatBits(report.end.sum_received.bits_per_second)}, redis a->c ${rps.join(', ')}`;
  figures.push(`through the gateways, Pod to Pod: ${figure}`);
  return figure;
});

scenario('policies decide on real Pod attributes: namespace, labels, service account', async () => {
  // The Fabric allowed namespace default + app=client at both ends; add a deny for one service account.
  const denyRobot = JSON.stringify({
    apiVersion: 'clusterlink.net/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name: 'deny-robot', namespace: 'default' },
    spec: {
      action: 'deny',
      from: [{ workloadSelector: { matchLabels: { 'client.clusterlink.net/service-account': 'robot' } } }],
      to: [{ workloadSelector: {} }],
    },
  });
  await applyYaml(site('a'), denyRobot);
  try {
    const expectDenied = async (pod: ClientPod) =>
      eventually(
        async () => {
          const answer = await echoFrom(site('a'), pod, ECHO_HOST);
          expect(answer.site).toBeUndefined();
        },
        30_000,
        1_000,
      );
    expect((await echoFrom(site('a'), CLIENT, ECHO_HOST)).site).toMatch(/^[bc]$/);
    await expectDenied(CLIENTS.guest);
    await expectDenied(CLIENTS.outsider);
    await expectDenied(CLIENTS.robot);
    const explain = await site('a').kubectl([
      '-n',
      GATEWAY_NAMESPACE,
      'logs',
      'deployment/cl-dataplane',
      '--tail=200',
    ]);
    expect(explain.stdout).toMatch(/deny/i);
    return 'client allowed; guest (labels), outsider (namespace), robot (service account) refused';
  } finally {
    await site('a').kubectl([
      '-n',
      'default',
      'delete',
      'accesspolicies.clusterlink.net',
      'deny-robot',
      '--ignore-not-found',
    ]);
  }
});

scenario('load balancing across two exporting sites: round-robin, random, static', async () => {
  try {
    await setEchoScheme('round-robin');
    const rr = await answers(6);
    expect(rr).toEqual({ b: 3, c: 3 });
    await setEchoScheme('static');
    const st = await eventually(
      async () => {
        const s = await answers(4);
        expect(s).toEqual({ b: 4 });
        return s;
      },
      30_000,
      1_000,
    );
    await setEchoScheme('random');
    const rnd = await eventually(
      async () => {
        const s = await answers(12);
        expect(Object.keys(s).sort()).toEqual(['b', 'c']);
        return s;
      },
      30_000,
      1_000,
    );
    return `round-robin ${JSON.stringify(rr)}, static ${JSON.stringify(st)}, random ${JSON.stringify(rnd)}`;
  } finally {
    await setEchoScheme('round-robin');
  }
});

scenario('failover: the first source’s gateway Pod is deleted, traffic moves, then returns', async () => {
  await setEchoScheme('static');
  try {
    await eventually(async () => expect(await answers(2)).toEqual({ b: 2 }), 30_000, 1_000);
    const t0 = Date.now();
    await site('b').kubectlOk([
      '-n',
      GATEWAY_NAMESPACE,
      'delete',
      'pod',
      '-l',
      'app.kubernetes.io/name=cl-dataplane',
      '--wait=false',
    ]);
    const during = await eventually(
      async () => {
        const s = await answers(3);
        expect(s).toEqual({ c: 3 });
        return s;
      },
      60_000,
      500,
    );
    await rollout(site('b'), GATEWAY_NAMESPACE, 'cl-dataplane');
    await eventually(async () => expect(await answers(2)).toEqual({ b: 2 }), 120_000, 1_000);
    const back = (Date.now() - t0) / 1000;
    return `while b's gateway Pod was replaced: ${JSON.stringify(during)}; back on b after ${back.toFixed(1)} s`;
  } finally {
    await setEchoScheme('round-robin');
  }
});

scenario('two data-plane replicas behind the gateway Service share the client connections', async () => {
  await scale(site('a'), 'cl-dataplane', 2);
  try {
    const before = await podUsage(site('a'), 'cl-dataplane');
    expect(before).toHaveLength(2);
    const tunnels = async () =>
      Promise.all(
        (await gatewayPods(site('a')))
          .filter((p) => p.name.startsWith('cl-dataplane'))
          .map(async (p) => {
            const metrics = await site('a').kubectl([
              'get',
              '--raw',
              `/api/v1/namespaces/${GATEWAY_NAMESPACE}/pods/${p.name}:9090/proxy/metrics`,
            ]);
            const total = [
              ...metrics.stdout.matchAll(
                /^clusterlink_dataplane_connections_opened_total\{[^}]*direction="egress"[^}]*\} (\d+)/gm,
              ),
            ].reduce((sum, m) => sum + Number(m[1]), 0);
            return total;
          }),
      );
    const start = await tunnels();
    const seen = await answers(12);
    expect(seen.error).toBeUndefined();
    const end = await tunnels();
    const per = end.map((n, i) => n - start[i]);
    expect(per.every((n) => n > 0)).toBe(true);
    return `12 connections through 2 replicas: ${per.join(' + ')} tunnels`;
  } finally {
    await scale(site('a'), 'cl-dataplane', 1);
  }
});

scenario(
  'two control-plane replicas: the leader Pod is killed, the other takes over and reconciles',
  async () => {
    await scale(site('a'), 'cl-controlplane', 2);
    try {
      const leader = await waitForLeader(site('a'));
      const t0 = Date.now();
      await site('a').kubectlOk([
        '-n',
        GATEWAY_NAMESPACE,
        'delete',
        'pod',
        leader,
        '--grace-period=0',
        '--force',
      ]);
      const next = await eventually(
        async () => {
          const holder = await waitForLeader(site('a'));
          expect(holder).not.toBe(leader);
          return holder;
        },
        90_000,
        1_000,
      );
      const takeover = (Date.now() - t0) / 1000;
      // The new leader reconciles a new Import: its Service appears and its conditions are written.
      const yaml = JSON.stringify({
        apiVersion: 'clusterlink.net/v1alpha1',
        kind: 'Import',
        metadata: { name: 'echo-2', namespace: 'default' },
        spec: { port: 8081, sources: [{ peer: 'site-c', exportName: 'echo', exportNamespace: 'default' }] },
      });
      await applyYaml(site('a'), yaml);
      try {
        await site('a').kubectlOk(
          [
            '-n',
            'default',
            'wait',
            '--for=condition=ImportServiceValid',
            'imports.clusterlink.net/echo-2',
            '--timeout=60s',
          ],
          { timeoutMs: 70_000 },
        );
        await site('a').kubectlOk(['-n', 'default', 'get', 'service', 'echo-2']);
      } finally {
        await site('a').kubectl([
          '-n',
          'default',
          'delete',
          'imports.clusterlink.net',
          'echo-2',
          '--ignore-not-found',
        ]);
      }
      return `leader ${leader} killed; ${next} leads after ${takeover.toFixed(1)} s and reconciled a new Import`;
    } finally {
      await scale(site('a'), 'cl-controlplane', 1);
    }
  },
);

scenario(
  'certificate rotation by updating the Secret: no Pod restart, the new certificate is served',
  async () => {
    const node = site('b');
    const podsBefore = await gatewayPods(node);
    const rotated = path.join(world.dir, 'rotated');
    await cli([
      'create',
      'peer-cert',
      '--name',
      'site-b',
      '--path',
      rotated,
      '--fabric-path',
      world.certDir,
    ]).catch(async () => {
      // Older CLIs take the fabric folder from --path only: copy the fabric CA next to it.
      fs.cpSync(
        path.join(world.certDir, 'default_fabric', 'cert.pem'),
        path.join(rotated, 'default_fabric', 'cert.pem'),
      );
      fs.cpSync(
        path.join(world.certDir, 'default_fabric', 'key.pem'),
        path.join(rotated, 'default_fabric', 'key.pem'),
      );
      await cli(['create', 'peer-cert', '--name', 'site-b', '--path', rotated]);
    });
    const newCert = fs.readFileSync(path.join(rotated, 'default_fabric', 'site-b', 'cert.pem'), 'utf8');
    const t0 = Date.now();
    const secret = await node.kubectlOk([
      '-n',
      GATEWAY_NAMESPACE,
      'create',
      'secret',
      'generic',
      'cl-peer',
      `--from-file=cert.pem=${path.join(rotated, 'default_fabric', 'site-b', 'cert.pem')}`,
      `--from-file=key.pem=${path.join(rotated, 'default_fabric', 'site-b', 'key.pem')}`,
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    await node.kubectlOk(['apply', '-f', '-'], { input: secret.stdout });
    // The kubelet's copy of the Secret in the data-plane Pod's volume, read on the node.
    const dataplane = podsBefore.find((p) => p.name.startsWith('cl-dataplane'))!;
    await eventually(
      async () => {
        const file = (
          await run('sh', [
            '-c',
            `cat ${node.folders.kubeletRoot}/pods/${dataplane.uid}/volumes/kubernetes.io~*/*/cert.pem`,
          ])
        ).stdout;
        expect(file).toContain(newCert.trim().split('\n')[1]);
      },
      180_000,
      500,
    );
    const volumeUpdate = (Date.now() - t0) / 1000;
    // What site a now sees on b's gateway port (TLS 1.3 shows the certificate before client auth).
    const b = world.sites.b.gateway;
    await eventually(
      async () => {
        const shown = await run(
          'sh',
          [
            '-c',
            `openssl s_client -connect ${b.host}:${b.port} -servername site-b </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`,
          ],
          { netns: world.fabric.site('a').netns },
        );
        const expected = await run('sh', ['-c', 'openssl x509 -noout -fingerprint -sha256'], {
          input: newCert,
        });
        expect(shown.stdout.trim()).toBe(expected.stdout.trim());
      },
      60_000,
      1_000,
    );
    const served = (Date.now() - t0) / 1000;
    expect((await answers(4)).error).toBeUndefined();
    const podsAfter = await gatewayPods(node);
    expect(podsAfter.map((p) => `${p.uid}:${p.restarts}`).sort()).toEqual(
      podsBefore.map((p) => `${p.uid}:${p.restarts}`).sort(),
    );
    figures.push(
      `certificate rotation at b: kubelet updated the Secret volume after ${volumeUpdate.toFixed(1)} s, gateway served it after ${served.toFixed(1)} s`,
    );
    return `volume updated after ${volumeUpdate.toFixed(1)} s, served after ${served.toFixed(1)} s, no restart`;
  },
);

scenario(
  'NodePort ingress is the only way in: gateway node ports connect, everything else is refused',
  async () => {
    const fromA = world.fabric.site('a').netns;
    const probe = (host: string, port: number) =>
      run('bash', ['-c', `exec 3<>/dev/tcp/${host}/${port}`], { netns: fromA, timeoutMs: 10_000 }).then(
        (r) => r.code === 0,
      );
    const b = world.sites.b;
    const c = world.sites.c;
    expect(await probe(b.gateway.host, b.gateway.port)).toBe(true);
    expect(await probe(c.gateway.host, c.gateway.port)).toBe(true);
    const bNode = b.node;
    expect(await probe(bNode.addressing.nodeIp, bNode.cluster.apiPort)).toBe(false);
    expect(await probe(bNode.addressing.nodeIp, 10250)).toBe(false);
    const services = await bNode.kubectlOk([
      '-n',
      GATEWAY_NAMESPACE,
      'get',
      'service',
      'cl-dataplane',
      '-o',
      'jsonpath={.spec.type}',
    ]);
    expect(['NodePort', 'LoadBalancer']).toContain(services.stdout);
    const aType = await site('a').kubectlOk([
      '-n',
      GATEWAY_NAMESPACE,
      'get',
      'service',
      'cl-dataplane',
      '-o',
      'jsonpath={.spec.type} {.spec.ports[0].nodePort}',
    ]);
    expect(aType.stdout).toBe('NodePort 30443');
    return `b:${b.gateway.port} and c:${c.gateway.port} connect; b's API server and kubelet ports refused from a`;
  },
);

scenario('kubelet restarted at the exporting site while a transfer runs', async () => {
  const node = site('b');
  const podsBefore = await gatewayPods(node);
  const transfer = execIn(
    site('a'),
    CLIENT,
    ['iperf3', '-c', 'iperf3.default.svc.cluster.local', '-p', String(IPERF_PORT), '-t', '12', '-J'],
    90_000,
  );
  await new Promise((r) => setTimeout(r, 3_000));
  await node.stopKubelet();
  const stoppedAt = Date.now();
  await new Promise((r) => setTimeout(r, 3_000));
  node.startKubelet();
  await eventually(async () => expect(await node.nodeReady()).toBe(true), 120_000, 1_000);
  const readyAfter = (Date.now() - stoppedAt) / 1000;
  const result = await transfer;
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout) as {
    end: { sum_received: { bits_per_second: number; bytes: number } };
  };
  expect(report.end.sum_received.bytes).toBeGreaterThan(1_000_000);
  const podsAfter = await gatewayPods(node);
  expect(podsAfter.map((p) => `${p.uid}:${p.restarts}`).sort()).toEqual(
    podsBefore.map((p) => `${p.uid}:${p.restarts}`).sort(),
  );
  return `12 s transfer ${formatBits(report.end.sum_received.bits_per_second)} across a kubelet restart; node Ready ${readyAfter.toFixed(1)} s after the stop; no Pod restarted`;
});

scenario(
  'RBAC: the control plane’s ServiceAccount can do what the controller needs and nothing else',
  async () => {
    const node = site('a');
    const probePod: ClientPod = {
      name: 'rbac-probe',
      namespace: GATEWAY_NAMESPACE,
      serviceAccount: 'cl-controlplane',
      labels: { app: 'rbac-probe' },
    };
    await applyYaml(node, clientPodManifest(probePod, { serviceAccountToken: true }));
    try {
      await node.kubectlOk(
        ['-n', GATEWAY_NAMESPACE, 'wait', '--for=condition=Ready', 'pod/rbac-probe', '--timeout=120s'],
        { timeoutMs: 130_000 },
      );
      const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
      const call = async (method: string, apiPath: string, body?: string) => {
        const script = `curl -sS -o /dev/null -w '%{http_code}' --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" -X ${method} ${body ? `-H 'Content-Type: application/json' -d '${body}'` : ''} https://kubernetes.default.svc${apiPath}`;
        const result = await execIn(node, probePod, ['sh', '-c', script]);
        return Number(result.stdout.trim());
      };
      const allowed = {
        'list imports': await call('GET', '/apis/clusterlink.net/v1alpha1/imports'),
        'list peers': await call(
          'GET',
          `/apis/clusterlink.net/v1alpha1/namespaces/${GATEWAY_NAMESPACE}/peers`,
        ),
        'list pods': await call('GET', '/api/v1/pods'),
        'list endpointslices': await call('GET', '/apis/discovery.k8s.io/v1/endpointslices'),
        'get its lease': await call(
          'GET',
          `/apis/coordination.k8s.io/v1/namespaces/${GATEWAY_NAMESPACE}/leases/cl-controlplane`,
        ),
      };
      const refused = {
        'list secrets in kube-system': await call('GET', '/api/v1/namespaces/kube-system/secrets'),
        'list nodes': await call('GET', '/api/v1/nodes'),
        'list leases': await call(
          'GET',
          `/apis/coordination.k8s.io/v1/namespaces/${GATEWAY_NAMESPACE}/leases`,
        ),
        'create deployment': await call(
          'POST',
          '/apis/apps/v1/namespaces/default/deployments',
          '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}',
        ),
        'delete namespace': await call('DELETE', '/api/v1/namespaces/default'),
        'create clusterrolebinding': await call(
          'POST',
          '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
          '{"metadata":{"name":"x"}}',
        ),
      };
      for (const [what, status] of Object.entries(allowed)) expect([what, status]).toEqual([what, 200]);
      for (const [what, status] of Object.entries(refused)) expect([what, status]).toEqual([what, 403]);
      return `${Object.keys(allowed).length} needed calls 200, ${Object.keys(refused).length} others 403, from a Pod with the control plane's token`;
    } finally {
      await node.kubectl([
        '-n',
        GATEWAY_NAMESPACE,
        'delete',
        'pod',
        'rbac-probe',
        '--ignore-not-found',
        '--grace-period=0',
        '--force',
      ]);
    }
  },
);

scenario('idle resource use per site: Kubernetes components and ClusterLink Pods', async () => {
  const lines: string[] = [];
  for (const name of SITE_NAMES) {
    const node = site(name);
    const before = node.componentUsage();
    const podsBefore = await podUsage(node);
    await new Promise((r) => setTimeout(r, 10_000));
    const after = node.componentUsage();
    const podsAfter = await podUsage(node);
    const cpu = (a: number, b: number) => `${(((b - a) / 10) * 100).toFixed(1)}%`;
    const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
    const k8s = after.map(
      (c, i) => `${c.name} ${mib(c.rssBytes)} ${cpu(before[i].cpuSeconds, c.cpuSeconds)}`,
    );
    const ours = podsAfter.map((p) => {
      const b = podsBefore.find((x) => x.pod === p.pod);
      return `${p.pod} ${mib(p.rssBytes)} ${cpu(b?.cpuSeconds ?? p.cpuSeconds, p.cpuSeconds)}`;
    });
    expect(ours.length).toBeGreaterThanOrEqual(2);
    lines.push(
      `site ${name} at idle (RSS, CPU of one core over 10 s): ${k8s.join(', ')}; ClusterLink: ${ours.join(', ')}`,
    );
  }
  figures.push(...lines);
  return 'see the figures below the table';
});
