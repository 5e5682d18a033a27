/**
 * A real Kubernetes control plane for integration tests: etcd plus kube-apiserver, built from Go
 * module source by test/envtest/build.sh (the way controller-runtime's envtest runs them).
 *
 * Each cluster gets free loopback ports, its own PKI (serving certificate, client CA, admin
 * certificate in system:masters, service-account signing key), an etcd data folder in a temporary
 * directory, and RBAC authorization. Several can run side by side (one per simulated site).
 *
 * No orphans: both servers run in their own process groups; stop() ends the groups and removes the
 * temporary directory; an exit hook kills them if the test process exits without stop(); and a
 * detached shell watchdog does the same within a second if the test process is killed outright.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  createCertificate,
  createCertificateAuthority,
  type CertificateAndKey,
} from '../../cli/pki/certificates';

export class TestClusterError extends Error {
  constructor(
    readonly code:
      | 'CL_ERR_ENVTEST_BINARIES_MISSING'
      | 'CL_ERR_ENVTEST_START_FAILED'
      | 'CL_ERR_ENVTEST_STOPPED'
      | 'CL_ERR_ENVTEST_TOKEN',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TestClusterError';
  }
}

export interface TestClusterOptions {
  /** Shown in temporary folder names and errors (e.g. the simulated site). @default 'envtest' */
  readonly name?: string;
  /** Folder holding kube-apiserver, etcd and kubectl. @default resolved by {@link resolveBinDir} */
  readonly binDir?: string;
  /** How long to wait for /readyz. @default 90_000 */
  readonly startTimeoutMs?: number;
  /** Extra kube-apiserver flags (`--name=value`), appended after ours so they win. */
  readonly apiServerArgs?: readonly string[];
  /**
   * The API server's watch cache (on in real clusters). Turning it off saves only ~15 MiB here,
   * and serves every list and watch from etcd directly.
   * @default true
   */
  readonly watchCache?: boolean;
  /**
   * Run etcd and kube-apiserver inside this network namespace (a test site that is a whole node).
   * The API server then listens on all of the namespace's addresses, and a Unix-socket bridge makes
   * it reachable from the root namespace at `url` (127.0.0.1, same port), so tests and tools keep
   * one kubeconfig; a socket file crosses namespaces without creating a route.
   */
  readonly netns?: string;
  /** The API server's address in the `kubernetes` Service endpoints. @default '127.0.0.1' */
  readonly advertiseAddress?: string;
  /** @default '10.96.0.0/16' */
  readonly serviceClusterIpRange?: string;
  /** Extra IP addresses in the serving certificate (the advertise address, the `kubernetes` Service IP). */
  readonly servingIpAddresses?: readonly string[];
  /**
   * The ServiceAccount admission plug-in: on when a controller-manager runs and creates the
   * `default` ServiceAccounts and Pods get their token volumes; off for a bare API server.
   * @default false
   */
  readonly serviceAccountAdmission?: boolean;
}

/** Credentials for one identity against a test cluster. */
export interface ClusterIdentity {
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
}

export interface TestCluster extends ClusterIdentity {
  readonly name: string;
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly binDir: string;
  /** Temporary folder (PKI, kubeconfigs, etcd data, logs); removed by stop(). */
  readonly dir: string;
  /** The cluster CA (serving certificate and client certificates are signed by it). */
  readonly ca: CertificateAndKey;
  /** Milliseconds from spawn to a ready API server. */
  readonly startupMs: number;
  readonly pids: { readonly etcd: number; readonly apiServer: number };
  /** The API server's port (the same inside a site's namespace and on the root loopback). */
  readonly apiPort: number;
  /** PEM files other components need: the cluster CA, the ServiceAccount signing key pair. */
  readonly files: {
    readonly ca: string;
    readonly serviceAccountKey: string;
    readonly serviceAccountPublicKey: string;
  };
  /** Resident memory of the two servers, from /proc (bytes). */
  memory(): { etcd: number; apiServer: number; total: number };
  /** A kubeconfig for a client certificate with this user name and groups (RBAC subjects). */
  kubeconfigForUser(user: string, groups?: readonly string[]): Promise<ClusterIdentity>;
  /**
   * A kubeconfig holding a bound token (TokenRequest API) for the ServiceAccount, created first if
   * absent (there is no controller-manager to create ServiceAccounts or tokens).
   */
  kubeconfigForServiceAccount(namespace: string, name: string): Promise<ClusterIdentity>;
  /** Ends both servers and removes the temporary folder; idempotent. */
  stop(): Promise<void>;
}

const repoRoot = path.resolve(__dirname, '..', '..');
const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';
/** Byte forwarder between TCP and Unix sockets (the namespace bridge). */
const FORWARD_SCRIPT = path.join(repoRoot, 'test', 'e2e', 'harness', 'forward.js');

/** The Kubernetes version pinned in test/envtest/go.mod (the cache folder is keyed by it). */
export function envtestKubernetesVersion(): string {
  const goMod = fs.readFileSync(path.join(repoRoot, 'test', 'envtest', 'go.mod'), 'utf8');
  const match = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(goMod);
  if (!match) throw new Error('test/envtest/go.mod does not require k8s.io/kubernetes');
  return match[1];
}

/**
 * Where build.sh puts the binaries: $CLUSTERLINK_ENVTEST_BIN if set, else
 * ${CLUSTERLINK_ENVTEST_DIR:-~/.cache/clusterlink/envtest}/<k8s version>/bin.
 */
export function resolveBinDir(): string {
  if (process.env.CLUSTERLINK_ENVTEST_BIN) return process.env.CLUSTERLINK_ENVTEST_BIN;
  const root =
    process.env.CLUSTERLINK_ENVTEST_DIR ?? path.join(os.homedir(), '.cache', 'clusterlink', 'envtest');
  return path.join(root, envtestKubernetesVersion(), 'bin');
}

function checkBinaries(binDir: string): void {
  const missing = ['etcd', 'kube-apiserver', 'kubectl'].filter((b) => {
    try {
      fs.accessSync(path.join(binDir, b), fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new TestClusterError(
      'CL_ERR_ENVTEST_BINARIES_MISSING',
      `test API server binaries missing in ${binDir}: ${missing.join(', ')}. Build them with: bash test/envtest/build.sh`,
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Pki {
  ca: CertificateAndKey;
  serving: CertificateAndKey;
  admin: CertificateAndKey;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

async function createPki(servingIpAddresses: readonly string[]): Promise<Pki> {
  const ca = await createCertificateAuthority({ commonName: 'clusterlink-envtest-ca' });
  const serving = await createCertificate({
    ca,
    commonName: 'kube-apiserver',
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    ipAddresses: ['127.0.0.1', ...servingIpAddresses],
    clientAuth: false,
  });
  const admin = await createCertificate({
    ca,
    commonName: 'envtest-admin',
    organizations: ['system:masters'],
    serverAuth: false,
  });
  // Not a certificate: the key pair that signs ServiceAccount tokens.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    ca,
    serving,
    admin,
    serviceAccountKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    serviceAccountPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

function kubeconfigYaml(
  url: string,
  caPem: string,
  user: { cert?: CertificateAndKey; token?: string },
  userName: string,
): string {
  const userFields = user.token
    ? `    token: ${user.token}\n`
    : `    client-certificate-data: ${b64(user.cert!.cert)}\n    client-key-data: ${b64(user.cert!.key)}\n`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: envtest',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    `- name: ${JSON.stringify(userName)}`,
    '  user:',
    userFields.trimEnd(),
    'contexts:',
    '- name: envtest',
    '  context:',
    '    cluster: envtest',
    `    user: ${JSON.stringify(userName)}`,
    'current-context: envtest',
    '',
  ].join('\n');
}

function writeIdentity(file: string, yaml: string): ClusterIdentity {
  fs.writeFileSync(file, yaml, { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(file);
  return { kubeconfigPath: file, kubeConfig };
}

/**
 * Kills the process groups listed in <dir>/pgids and removes <dir> once the parent process is
 * gone. A shell loop rather than Node: a few hundred kilobytes instead of tens of megabytes.
 */
const watchdogScript = `
parent="$1"; dir="$2"
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
groups=$(cat "$dir/pgids" 2>/dev/null)
for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
sleep 2
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
rm -rf -- "$dir"
`;

function startWatchdog(dir: string): ChildProcess {
  const watchdog = spawn('/bin/sh', ['-c', watchdogScript, 'envtest-watchdog', String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  return watchdog;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function rssBytes(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** GET a path with the admin certificate; resolves with the status code (0 = connection failed). */
function adminGet(url: string, pki: Pki, pathname: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(
      `${url}${pathname}`,
      { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key, timeout: 5_000, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

class Server {
  readonly process: ChildProcess;
  readonly exited: Promise<void>;
  exitDescription?: string;

  constructor(
    readonly name: string,
    binary: string,
    args: string[],
    readonly logFile: string,
    pgidsFile: string,
    netns?: string,
  ) {
    const log = fs.openSync(logFile, 'a');
    try {
      // `ip netns exec` execs in place: the process group is the server's own.
      const [command, argv] = netns ? ['ip', ['netns', 'exec', netns, binary, ...args]] : [binary, args];
      this.process = spawn(command, argv, {
        detached: true, // own process group, so stop() and the watchdog can end all of it
        stdio: ['ignore', log, log],
        // A soft heap limit makes the Go runtime collect earlier: kube-apiserver settles at about
        // 200 MiB instead of 260 MiB for a second or so more start-up time.
        env: { ...process.env, GOMEMLIMIT: process.env.GOMEMLIMIT ?? '160MiB' },
      });
    } finally {
      fs.closeSync(log);
    }
    this.process.unref();
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exitDescription = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      });
      this.process.once('error', (err) => {
        this.exitDescription = `spawn error: ${err.message}`;
        resolve();
      });
    });
    if (this.process.pid) fs.appendFileSync(pgidsFile, `${this.process.pid}\n`);
  }

  get pid(): number {
    return this.process.pid ?? 0;
  }

  get running(): boolean {
    return this.exitDescription === undefined && this.pid > 0;
  }

  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    killGroup(this.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      killGroup(this.pid, 'SIGKILL');
      await this.exited;
    }
  }
}

const liveClusters = new Set<() => void>();
let exitHookInstalled = false;

/** Synchronous last resort when the test process exits without calling stop(). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const kill of liveClusters) kill();
  });
}

/** Starts etcd and kube-apiserver and resolves once the API server is ready. */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  // Ports are picked free and then handed to the servers, so another process can take one in
  // between (most likely a cluster starting in parallel): start again on fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      const portTaken = err instanceof TestClusterError && /address already in use/.test(err.message);
      if (!portTaken || attempt >= 3) throw err;
    }
  }
}

async function startOnce(options: TestClusterOptions): Promise<TestCluster> {
  const name = options.name ?? 'envtest';
  const binDir = options.binDir ?? resolveBinDir();
  checkBinaries(binDir);
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `clusterlink-${name.replace(/[^a-zA-Z0-9-]/g, '-')}-`));
  const pgidsFile = path.join(dir, 'pgids');
  fs.writeFileSync(pgidsFile, '');
  const watchdog = startWatchdog(dir);
  const servers: Server[] = [];
  const killNow = () => {
    for (const server of servers) if (server.running) killGroup(server.pid, 'SIGKILL');
    killGroup(watchdog.pid ?? 0, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  installExitHook();
  liveClusters.add(killNow);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The API server first, so it does not log a storm of etcd connection errors.
    for (const server of [...servers].reverse()) await server.stop(5_000);
    liveClusters.delete(killNow);
    killNow();
  };

  try {
    const pki = await createPki(options.servingIpAddresses ?? []);
    const file = (base: string, content: string) => {
      const p = path.join(dir, base);
      fs.writeFileSync(p, content, { mode: 0o600 });
      return p;
    };
    const caFile = file('ca.pem', pki.ca.cert);
    const servingCert = file('serving.pem', pki.serving.cert);
    const servingKey = file('serving-key.pem', pki.serving.key);
    const saKey = file('sa-key.pem', pki.serviceAccountKey);
    const saPub = file('sa-pub.pem', pki.serviceAccountPublicKey);

    const [etcdClientPort, etcdPeerPort, apiPort] = await distinctFreePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = new Server(
      'etcd',
      path.join(binDir, 'etcd'),
      [
        `--name=envtest`,
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=envtest=${etcdPeerUrl}`,
        // Throwaway data: durability buys nothing and fsync makes every write slow.
        '--unsafe-no-fsync=true',
        '--snapshot-count=5000',
        '--log-level=warn',
      ],
      path.join(dir, 'etcd.log'),
      pgidsFile,
      options.netns,
    );
    servers.push(etcd);

    const url = `https://127.0.0.1:${apiPort}`;
    const apiServer = new Server(
      'kube-apiserver',
      path.join(binDir, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        `--bind-address=${options.netns ? '0.0.0.0' : '127.0.0.1'}`,
        `--advertise-address=${options.advertiseAddress ?? '127.0.0.1'}`,
        `--secure-port=${apiPort}`,
        `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${servingCert}`,
        `--tls-private-key-file=${servingKey}`,
        `--client-ca-file=${caFile}`,
        `--service-account-issuer=${serviceAccountIssuer}`,
        `--api-audiences=${serviceAccountIssuer}`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        `--service-cluster-ip-range=${options.serviceClusterIpRange ?? '10.96.0.0/16'}`,
        '--authorization-mode=RBAC',
        // Without a controller-manager nothing would create the `default` ServiceAccount that this
        // plug-in insists on for every Pod.
        ...(options.serviceAccountAdmission ? [] : ['--disable-admission-plugins=ServiceAccount']),
        '--allow-privileged=true',
        '--enable-priority-and-fairness=false',
        // The `kubernetes` Service gets endpoints only where Pods can use them.
        `--endpoint-reconciler-type=${options.netns ? 'lease' : 'none'}`,
        '--profiling=false',
        `--watch-cache=${options.watchCache ?? true}`,
        '--v=0',
        ...(options.apiServerArgs ?? []),
      ],
      path.join(dir, 'apiserver.log'),
      pgidsFile,
      options.netns,
    );
    servers.push(apiServer);
    if (options.netns) {
      // root 127.0.0.1:<port> -> socket file -> 127.0.0.1:<port> inside the namespace
      const socket = path.join(dir, 'api.sock');
      servers.push(
        new Server(
          'api-bridge-inside',
          process.execPath,
          [FORWARD_SCRIPT, `unix:${socket}`, `tcp:127.0.0.1:${apiPort}`],
          path.join(dir, 'api-bridge.log'),
          pgidsFile,
          options.netns,
        ),
        new Server(
          'api-bridge-root',
          process.execPath,
          [FORWARD_SCRIPT, `tcp:127.0.0.1:${apiPort}`, `unix:${socket}`],
          path.join(dir, 'api-bridge.log'),
          pgidsFile,
        ),
      );
    }

    const deadline = started + (options.startTimeoutMs ?? 90_000);
    for (;;) {
      for (const server of servers) {
        if (!server.running) {
          throw new TestClusterError(
            'CL_ERR_ENVTEST_START_FAILED',
            `${server.name} of test cluster ${name} ended during start-up (${server.exitDescription}):\n${tail(server.logFile)}`,
          );
        }
      }
      // /readyz covers etcd, the RBAC bootstrap roles and the CRD machinery; the `default`
      // namespace is created by a separate loop, and tests expect it.
      if (
        (await adminGet(url, pki, '/readyz')) === 200 &&
        (await adminGet(url, pki, '/api/v1/namespaces/default')) === 200
      ) {
        break;
      }
      if (Date.now() > deadline) {
        throw new TestClusterError(
          'CL_ERR_ENVTEST_START_FAILED',
          `test cluster ${name} not ready after ${options.startTimeoutMs ?? 90_000} ms:\n${tail(apiServer.logFile)}`,
        );
      }
      await sleep(100);
    }
    const startupMs = Date.now() - started;

    const admin = writeIdentity(
      path.join(dir, 'kubeconfig'),
      kubeconfigYaml(url, pki.ca.cert, { cert: pki.admin }, 'admin'),
    );
    let identities = 0;
    const identityFile = (label: string) =>
      path.join(dir, `kubeconfig-${++identities}-${label.replace(/[^a-zA-Z0-9-]/g, '-')}`);
    const ensureRunning = () => {
      if (stopped) throw new TestClusterError('CL_ERR_ENVTEST_STOPPED', `test cluster ${name} is stopped`);
    };

    return {
      name,
      url,
      binDir,
      dir,
      ca: pki.ca,
      startupMs,
      pids: { etcd: etcd.pid, apiServer: apiServer.pid },
      apiPort,
      files: { ca: caFile, serviceAccountKey: saKey, serviceAccountPublicKey: saPub },
      kubeconfigPath: admin.kubeconfigPath,
      kubeConfig: admin.kubeConfig,
      memory() {
        const e = rssBytes(etcd.pid);
        const a = rssBytes(apiServer.pid);
        return { etcd: e, apiServer: a, total: e + a };
      },
      async kubeconfigForUser(user, groups = []) {
        ensureRunning();
        const cert = await createCertificate({
          ca: pki.ca,
          commonName: user,
          organizations: groups,
          serverAuth: false,
        });
        return writeIdentity(identityFile(user), kubeconfigYaml(url, pki.ca.cert, { cert }, user));
      },
      async kubeconfigForServiceAccount(namespace, saName) {
        ensureRunning();
        const core = admin.kubeConfig.makeApiClient(CoreV1Api);
        try {
          await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: saName } } });
        } catch (err) {
          if ((err as { code?: number }).code !== 409) throw err;
        }
        let token: string | undefined;
        try {
          const response = await core.createNamespacedServiceAccountToken({
            namespace,
            name: saName,
            body: { spec: { audiences: [serviceAccountIssuer], expirationSeconds: 3600 } },
          });
          token = response.status?.token;
        } catch (err) {
          throw new TestClusterError(
            'CL_ERR_ENVTEST_TOKEN',
            `TokenRequest for ${namespace}/${saName} failed`,
            {
              cause: err,
            },
          );
        }
        if (!token)
          throw new TestClusterError(
            'CL_ERR_ENVTEST_TOKEN',
            `TokenRequest for ${namespace}/${saName} returned no token`,
          );
        return writeIdentity(
          identityFile(`${namespace}-${saName}`),
          kubeconfigYaml(url, pki.ca.cert, { token }, `system:serviceaccount:${namespace}:${saName}`),
        );
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Jest helper: starts a cluster in beforeAll and stops it in afterAll. Call it at the top of a
 * describe block; the returned function gives the running cluster inside tests.
 */
export function useTestCluster(options: TestClusterOptions = {}): () => TestCluster {
  let cluster: TestCluster | undefined;
  beforeAll(
    async () => {
      cluster = await startTestCluster(options);
    },
    (options.startTimeoutMs ?? 90_000) + 30_000,
  );
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);
  return () => {
    if (!cluster)
      throw new TestClusterError('CL_ERR_ENVTEST_STOPPED', 'test cluster not started (did beforeAll fail?)');
    return cluster;
  };
}
