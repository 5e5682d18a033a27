/**
 * Two sites in network namespaces running the standalone gateway (`clusterlink gateway --config
 * DIR`: control plane and data plane in one process, a directory of CR YAML files as its API).
 * Labelled "standalone" in the summary: the same sites, namespaces and firewall as the
 * Kubernetes-mode suite, with the one-process gateway a user runs without Kubernetes.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import {
  createCertificateAuthority,
  createPeerCertificate,
  type CertificateAndKey,
} from '../../cli/pki/certificates';
import { BackendPorts, curl, startBackends, type SiteBackends } from '../harness/backends';
import { Fabric, podAddress, removeStaleNamespaces, type SiteNetwork } from '../harness/netns';
import { run, spawnManaged, stopAllProcesses, type ManagedProcess } from '../harness/procs';
import { accessPolicy, exportOf, importOf, type Obj } from './harness/resources';
import { CLI, GATEWAY_PORT, waitReady } from './harness/site';
import { printSummary, scenario } from './harness/summary';
import { buildCli, eventually } from './harness/world';

jest.setTimeout(120_000);

const ADMIN_PORT = 9090;
const IMPORT_PORT = 21_000;
const NS = 'default';

interface StandaloneSite {
  readonly net: SiteNetwork;
  readonly name: string;
  readonly dir: string;
  readonly cert: CertificateAndKey;
  backends: SiteBackends;
  gateway: ManagedProcess;
}

let fabric: Fabric;
let root: string;
let ca: CertificateAndKey;
const sites: Record<'a' | 'b', StandaloneSite> = {} as never;

/** Atomic write (temp file + rename), as an editor or a config-management tool would. */
function writeFile(site: StandaloneSite, file: string, content: string): void {
  const tmp = path.join(site.dir, `.${file}.tmp`);
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, path.join(site.dir, file));
}

function writeObject(site: StandaloneSite, file: string, object: Obj): void {
  writeFile(site, file, stringify(object));
}

function writeCerts(site: StandaloneSite, caPem: string, pair: CertificateAndKey): void {
  writeFile(site, 'ca.pem', caPem);
  writeFile(site, 'cert.pem', pair.cert);
  writeFile(site, 'key.pem', pair.key);
}

interface PeerStatus {
  readonly name: string;
  readonly reachable?: boolean;
  readonly reason?: string;
}

async function peerStatus(site: StandaloneSite, peer: string): Promise<PeerStatus | undefined> {
  const result = await run('curl', ['-sf', '--max-time', '3', `http://127.0.0.1:${ADMIN_PORT}/status`], {
    netns: site.net.netns,
    timeoutMs: 10_000,
  });
  if (result.code !== 0) throw new Error(`status of ${site.name} unavailable: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { peers: PeerStatus[] }).peers.find((p) => p.name === peer);
}

async function waitReachable(site: StandaloneSite, peer: string, reachable: boolean, timeoutMs = 60_000) {
  return eventually(async () => {
    const status = await peerStatus(site, peer);
    expect(status?.reachable).toBe(reachable);
    return status!;
  }, timeoutMs);
}

const clientAddress = (site: StandaloneSite) => podAddress(site.net, 21);
const importUrl = (site: StandaloneSite) => `http://${podAddress(site.net, 2)}:${IMPORT_PORT}/`;

async function echoSite(site: StandaloneSite): Promise<string> {
  const response = await curl(site.net, importUrl(site), clientAddress(site), 5);
  if (response.code !== 0) throw new Error(`curl failed (${response.code}): ${response.stderr}`);
  return (JSON.parse(response.stdout) as { site: string }).site;
}

beforeAll(async () => {
  await buildCli();
  await removeStaleNamespaces();
  root = fs.mkdtempSync(path.join(tmpdir(), 'cle2e-standalone-'));
  fabric = await Fabric.create({ sites: ['a', 'b'], openPorts: [GATEWAY_PORT] });
  ca = await createCertificateAuthority({ commonName: 'e2e-standalone-fabric' });
  for (const name of ['a', 'b'] as const) {
    const net = fabric.site(name);
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    const site: StandaloneSite = {
      net,
      name: `site-${name}`,
      dir,
      cert: await createPeerCertificate(ca, `site-${name}`),
      backends: undefined as never,
      gateway: undefined as never,
    };
    sites[name] = site;
    writeCerts(site, ca.cert, site.cert);
    site.backends = await startBackends(net, root);
  }
  const { a, b } = sites;
  const peerObject = (site: StandaloneSite): Obj => ({
    apiVersion: 'clusterlink.net/v1alpha1',
    kind: 'Peer',
    metadata: { name: site.name },
    spec: { gateways: [{ host: site.net.fabricAddress, port: GATEWAY_PORT }] },
  });
  writeObject(a, 'peer-b.yaml', peerObject(b));
  writeObject(b, 'peer-a.yaml', peerObject(a));
  writeObject(b, 'export.yaml', exportOf(NS, 'echo', b.backends.address, BackendPorts.http));
  writeObject(
    a,
    'import.yaml',
    importOf(NS, 'echo', BackendPorts.http, [{ peer: b.name, exportName: 'echo', exportNamespace: NS }], {
      targetPort: IMPORT_PORT,
    }),
  );
  for (const site of [a, b]) writeObject(site, 'allow.yaml', accessPolicy(NS, 'allow-all', 'allow'));
  for (const site of [a, b]) await startGateway(site);
  await waitReachable(a, b.name, true);
}, 300_000);

async function startGateway(site: StandaloneSite): Promise<void> {
  site.gateway = spawnManaged(
    'node',
    [
      CLI,
      'gateway',
      '--config',
      site.dir,
      '--gateway-port',
      String(GATEWAY_PORT),
      '--listen-host',
      '0.0.0.0',
      '--admin-port',
      String(ADMIN_PORT),
    ],
    {
      name: `${site.net.site}/standalone-gateway`,
      netns: site.net.netns,
      logFile: path.join(root, `${site.name}.log`),
    },
  );
  await waitReady(site.gateway, site.net, ADMIN_PORT);
}

/**
 * Every scenario starts from the same state whatever the one before did or failed to undo: each
 * site's own certificates, no deny.yaml, both gateways running, each peer reachable from the other.
 */
beforeEach(async () => {
  const repairs: string[] = [];
  for (const site of [sites.a, sites.b]) {
    const read = (file: string) => fs.readFileSync(path.join(site.dir, file), 'utf8');
    if (
      read('ca.pem') !== ca.cert ||
      read('cert.pem') !== site.cert.cert ||
      read('key.pem') !== site.cert.key
    ) {
      writeCerts(site, ca.cert, site.cert);
      repairs.push(`${site.name}: own certificates restored`);
    }
    if (fs.existsSync(path.join(site.dir, 'deny.yaml'))) {
      fs.rmSync(path.join(site.dir, 'deny.yaml'));
      repairs.push(`${site.name}: deny.yaml removed`);
    }
    if (!site.gateway.running) {
      await startGateway(site);
      repairs.push(`${site.name}: gateway started again`);
    }
  }
  if (repairs.length > 0) {
    process.stdout.write(
      `[e2e] before "${expect.getState().currentTestName}": repaired ${repairs.join('; ')}\n`,
    );
  }
  await waitReachable(sites.a, sites.b.name, true, 120_000);
  await waitReachable(sites.b, sites.a.name, true, 120_000);
}, 300_000);

afterAll(async () => {
  printSummary('standalone gateways in network namespaces');
  await stopAllProcesses();
  await fabric?.destroy();
  if (root && process.env.CLUSTERLINK_E2E_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
});

scenario('standalone: curl through two gateways configured by YAML directories', async () => {
  expect(await eventually(() => echoSite(sites.a))).toBe('b');
  for (let i = 0; i < 10; i++) expect(await echoSite(sites.a)).toBe('b');
  return '10/10 answered by site b';
});

scenario(
  'standalone: a deny policy file added to the directory takes effect, removed: allowed again',
  async () => {
    const { a, b } = sites;
    await eventually(async () => expect(await echoSite(a)).toBe('b'));
    const deny = accessPolicy(NS, 'deny-site-a', 'deny', {
      matchLabels: { 'peer.clusterlink.net/name': a.name },
    });
    writeObject(b, 'deny.yaml', deny);
    try {
      await eventually(async () =>
        expect((await curl(a.net, importUrl(a), clientAddress(a), 5)).code).not.toBe(0),
      );
    } finally {
      fs.rmSync(path.join(b.dir, 'deny.yaml'), { force: true });
    }
    expect(await eventually(() => echoSite(a))).toBe('b');
    expect(a.gateway.running && b.gateway.running).toBe(true);
    return 'refused while deny.yaml exists at the exporter, served again after its removal';
  },
);

scenario(
  'standalone: certificates from another fabric, then restored: peer unreachable and access refused, then back, no restart',
  async () => {
    const { a, b } = sites;
    const gateways = [a.gateway, b.gateway];
    await eventually(async () => expect(await echoSite(a)).toBe('b'));
    await waitReachable(a, b.name, true);
    const other = await createCertificateAuthority({ commonName: 'another-fabric' });
    writeCerts(b, other.cert, await createPeerCertificate(other, b.name));
    const swappedAt = Date.now();
    try {
      await eventually(async () =>
        expect((await curl(a.net, importUrl(a), clientAddress(a), 5)).code).not.toBe(0),
      );
      const refusedMs = Date.now() - swappedAt;
      await waitReachable(a, b.name, false, 90_000);
      const unreachableMs = Date.now() - swappedAt;
      writeCerts(b, ca.cert, b.cert);
      expect(await eventually(() => echoSite(a))).toBe('b');
      await waitReachable(a, b.name, true, 90_000);
      expect([a.gateway, b.gateway]).toEqual(gateways);
      expect(a.gateway.running && b.gateway.running).toBe(true);
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      return `refused ${s(refusedMs)}, unreachable ${s(unreachableMs)} after the swap; back after the restore, same processes`;
    } finally {
      writeCerts(b, ca.cert, b.cert);
    }
  },
  240_000,
);
