/**
 * The paths the benchmark compares, each started on 127.0.0.1 and exposing a redis port and an
 * iperf3 port to the clients:
 * - direct: the services themselves (the limit);
 * - haproxy: the reference two-hop mTLS tunnel of ../shared/bench/anchors, started by its own
 *   paths.sh (sourced in a shell, start_haproxy), certificates from its certs.sh;
 * - ours: two DataPlane processes (site-a imports, site-b exports), h2 sessions between them;
 * - ours-h1: the same, forced onto the compatible HTTP/1.1 protocol (one TLS connection per tunnel);
 * - node-floor: the least a Node.js mTLS tunnel can do (bench/floor-relay.ts: tls + pipe), to show
 *   what Node's own layers cost.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { firstLine, portFree, waitForPort, type Children } from './proc';
import { exportingSite, importingSite, type BenchPki, type ServiceName } from './snapshots';
import type { SiteConfig, SiteReady } from '../site';

export interface RunningPath {
  readonly name: string;
  readonly redisPort: number;
  readonly iperfPort: number;
  /** Gateway processes (A: client side, B: service side); absent for direct. */
  readonly gateways?: { readonly a: number; readonly b: number };
  /** Node gateways: collect garbage before memory is sampled (SIGUSR2 -> gc()). */
  readonly collectGarbage?: () => void;
  stop(): Promise<void>;
}

export interface PathEnv {
  readonly children: Children;
  readonly work: string;
  readonly services: Record<ServiceName, number>;
  readonly anchors: string;
  /** Certificates made by anchors/certs.sh (HAProxy). */
  readonly anchorCerts: string;
  /** Certificates for our sites. */
  readonly pki: BenchPki;
  /** Extra node flags for our site processes (e.g. --cpu-prof). */
  readonly nodeFlags: readonly string[];
  /** Where our gateways' stderr goes (one file per site). */
  readonly logDir: string;
  /** Tuning experiments: variant name -> constants of dataplane/tuning.ts to override. */
  readonly variants: Record<string, Record<string, number>>;
}

export class PathUnavailable extends Error {
  readonly code = 'BENCH_PATH_UNAVAILABLE';
}

export async function startPath(name: string, env: PathEnv): Promise<RunningPath> {
  switch (name) {
    case 'direct':
      return {
        name,
        redisPort: env.services.redis,
        iperfPort: env.services.iperf,
        stop: async () => undefined,
      };
    case 'haproxy':
      return startHaproxy(env);
    case 'ours':
      return startOurs(name, env, false);
    case 'ours-h1':
      return startOurs(name, env, true);
    case 'node-floor':
      return startFloor(env);
    default: {
      // ours+VARIANT / ours-h1+VARIANT: tuning experiments, VARIANT a key of env.variants.
      const [base, variant] = name.split('+');
      const tuning = variant !== undefined ? env.variants[variant] : undefined;
      if ((base === 'ours' || base === 'ours-h1') && tuning)
        return startOurs(name, env, base === 'ours-h1', tuning);
      throw new PathUnavailable(`unknown path ${name}`);
    }
  }
}

async function startHaproxy(env: PathEnv): Promise<RunningPath> {
  const pathsSh = path.join(env.anchors, 'paths.sh');
  if (!existsSync(pathsSh)) throw new PathUnavailable(`${pathsSh} not found`);
  const which = await import('node:child_process').then((cp) =>
    cp.spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }),
  );
  if (which.status !== 0) throw new PathUnavailable('haproxy is not installed (apt-get install haproxy)');
  // paths.sh's start_haproxy uses fixed ports (A 17110/17111, B 17143).
  for (const port of [17110, 17111, 17143]) {
    if (!(await portFree(port))) throw new PathUnavailable(`port ${port} is in use (another anchors run?)`);
  }
  const work = path.join(env.work, 'haproxy-run');
  mkdirSync(work, { recursive: true });
  const script = [
    'set -u',
    `source "${pathsSh}"`,
    `WORK="${work}" CERTS="${env.anchorCerts}" SVC_REDIS=${env.services.redis} SVC_IPERF=${env.services.iperf}`,
    'CPU_A=() CPU_B=() PROXY_PIDS=()',
    'start_haproxy || exit 3',
    'echo "PATH $A_REDIS $A_IPERF $B_PORT ${PROXY_PIDS[*]}"',
    'wait',
  ].join('\n');
  const shell = env.children.spawn('bash', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const line = await firstLine(shell, 'PATH ', 10_000);
  const [redisPort, iperfPort, bPort, pidB, pidA] = line.split(/\s+/).map(Number);
  // start_haproxy spawns B first, then A.
  const stop = (): Promise<void> => env.children.stop(shell, [pidA, pidB]);
  try {
    await Promise.all([waitForPort(redisPort), waitForPort(iperfPort), waitForPort(bPort)]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: 'haproxy', redisPort, iperfPort, gateways: { a: pidA, b: pidB }, stop };
}

/** Fixed ports of the node-floor path (A: redis, iperf; B: the mTLS port). */
const FLOOR_PORTS = { aRedis: 17310, aIperf: 17311, b: 17343 };

async function startFloor(env: PathEnv): Promise<RunningPath> {
  for (const port of Object.values(FLOOR_PORTS)) {
    if (!(await portFree(port))) throw new PathUnavailable(`port ${port} is in use`);
  }
  const relayJs = path.join(__dirname, '..', 'floor-relay.js');
  const spawnSide = async (side: 'a' | 'b', ports: number[]): Promise<ChildProcess> => {
    const child = env.children.spawn(
      process.execPath,
      [...env.nodeFlags, relayJs, side, env.anchorCerts, String(FLOOR_PORTS.b), ...ports.map(String)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child.stderr!.pipe(createWriteStream(path.join(env.logDir, `node-floor-${side}.log`), { flags: 'a' }));
    await firstLine(child, 'READY', 10_000);
    return child;
  };
  const b = await spawnSide('b', [env.services.redis, env.services.iperf]);
  let a: ChildProcess;
  try {
    a = await spawnSide('a', [FLOOR_PORTS.aRedis, FLOOR_PORTS.aIperf]);
  } catch (err) {
    await env.children.stop(b);
    throw err;
  }
  return {
    name: 'node-floor',
    redisPort: FLOOR_PORTS.aRedis,
    iperfPort: FLOOR_PORTS.aIperf,
    gateways: { a: a.pid!, b: b.pid! },
    stop: async () => {
      await env.children.stop(a);
      await env.children.stop(b);
    },
  };
}

async function startSite(
  env: PathEnv,
  label: string,
  config: SiteConfig,
  tuning?: Record<string, number>,
): Promise<{ child: ChildProcess; ready: SiteReady }> {
  const file = path.join(env.work, `${label}.json`);
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  const siteJs = path.join(__dirname, '..', 'site.js');
  const child = env.children.spawn(process.execPath, ['--expose-gc', ...env.nodeFlags, siteJs, file], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: tuning ? { ...process.env, BENCH_TUNING: JSON.stringify(tuning) } : process.env,
  });
  const logFile = path.join(env.logDir, `${label}.log`);
  child.stderr!.pipe(createWriteStream(logFile, { flags: 'a' }));
  child.once('exit', (code, signal) => appendFileSync(logFile, `EXIT code=${code} signal=${signal}\n`));
  try {
    const ready = JSON.parse(await firstLine(child, 'SITE ', 20_000)) as SiteReady;
    return { child, ready };
  } catch (err) {
    await env.children.stop(child);
    throw err;
  }
}

async function startOurs(
  name: string,
  env: PathEnv,
  forceHttp1: boolean,
  tuning?: Record<string, number>,
): Promise<RunningPath> {
  const b = await startSite(env, `${name}-b`, { snapshot: exportingSite(env.pki, env.services) }, tuning);
  let a: { child: ChildProcess; ready: SiteReady };
  try {
    a = await startSite(
      env,
      `${name}-a`,
      { snapshot: importingSite(env.pki, b.ready.gateway), forceHttp1 },
      tuning,
    );
  } catch (err) {
    await env.children.stop(b.child);
    throw err;
  }
  return {
    name,
    redisPort: a.ready.imports.redis,
    iperfPort: a.ready.imports.iperf,
    gateways: { a: a.ready.pid, b: b.ready.pid },
    collectGarbage: () => {
      a.child.kill('SIGUSR2');
      b.child.kill('SIGUSR2');
    },
    stop: async () => {
      await env.children.stop(a.child);
      await env.children.stop(b.child);
    },
  };
}
