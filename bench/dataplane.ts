/**
 * Data-plane benchmark (`npm run bench:dataplane`): in one invocation, the direct path (client to
 * service on loopback), our two-gateway path (client -> site-a import listener -> mTLS h2 session ->
 * site-b gateway port -> service, each gateway its own process) and the reference HAProxy two-hop
 * mTLS tunnel of ../shared/bench/anchors (skipped with a note when HAProxy is missing). Prints one
 * table with ratios. Loopback only; every load bounded in time; stops every process it started.
 *
 * Environment knobs:
 *   DURATION=5      iperf3 seconds per bulk test (quick look: DURATION=3 CONN_SECONDS=2 RR_N=5000)
 *   RR_N=20000      redis-benchmark PING requests      CONN_SECONDS=5  connbench seconds
 *   CONN_MAX1=1000  CONN_MAX8=4000 connection caps     IDLE_TUNNELS=2000 idle tunnels for memory
 *   REPS=1          repetitions (interleaved across paths; the table shows medians)
 *   PATHS="direct haproxy ours"  (also: ours-h1 = our gateways forced onto one TLS connection per tunnel)
 *   QUIET_MAX=20    seconds to wait for other processes to calm down before each path
 *   VARIANTS='{"nobatch":{"RELAY_BATCH_MIN_CHUNK":1e12}}' with PATHS="... ours+nobatch": tuning
 *                   experiments (constants of dataplane/tuning.ts overridden in the site processes)
 *   TESTS="bulk1 bulk8 rr conn1 conn8 idle"  (a subset, while tuning)
 *   SITE_NODE_FLAGS="--max-semi-space-size=16"  node flags for our gateway processes
 *   PROFILE=1       run our gateways under --cpu-prof (profiles land in the output folder)
 *   ANCHORS=../shared/bench/anchors   OUT=folder for results (default $TMPDIR/cl-bench/<time>)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCertificateAuthority, createPeerCertificate } from '../cli/pki/certificates';
import { connbench, iperf3, openIdleTunnels, redisPing } from './harness/clients';
import { startPath, type PathEnv, type RunningPath } from './harness/paths';
import {
  Children,
  cpuSeconds,
  portFree,
  quietWait,
  rssBytes,
  sleep,
  waitForPort,
  withNoise,
} from './harness/proc';
import { medians, table, type PathFigures } from './harness/report';
import type { BenchPki, ServiceName } from './harness/snapshots';

const num = (name: string, def: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};

const settings = {
  duration: num('DURATION', 5),
  rrN: num('RR_N', 20_000),
  connSeconds: num('CONN_SECONDS', 5),
  connMax1: num('CONN_MAX1', 1000),
  connMax8: num('CONN_MAX8', 4000),
  idleTunnels: num('IDLE_TUNNELS', 2000),
  reps: num('REPS', 1),
  quietMax: num('QUIET_MAX', 20),
  paths: (process.env.PATHS ?? 'direct haproxy ours').split(/\s+/).filter(Boolean),
  profile: process.env.PROFILE === '1',
  variants: JSON.parse(process.env.VARIANTS ?? '{}') as Record<string, Record<string, number>>,
  tests: new Set((process.env.TESTS ?? 'bulk1 bulk8 rr conn1 conn8 idle').split(/\s+/).filter(Boolean)),
  anchors: path.resolve(process.env.ANCHORS ?? path.join(process.cwd(), '..', 'shared', 'bench', 'anchors')),
  servicePorts: { redis: num('SVC_REDIS', 17500), iperf: num('SVC_IPERF', 17501) } as Record<
    ServiceName,
    number
  >,
};

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
const out = path.resolve(process.env.OUT ?? path.join(os.tmpdir(), 'cl-bench', stamp));

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
}

function have(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

async function makePki(): Promise<BenchPki> {
  const ca = await createCertificateAuthority({ commonName: 'bench-fabric' });
  return { ca, a: await createPeerCertificate(ca, 'site-a'), b: await createPeerCertificate(ca, 'site-b') };
}

/** Runs every test against one path; each figure is optional (a failed test is reported, not fatal). */
async function measurePath(
  p: RunningPath,
  children: Children,
  ours: () => number[],
  connbenchJs: string,
): Promise<PathFigures> {
  const f: PathFigures = {};
  const gw = p.gateways ? [p.gateways.a, p.gateways.b] : [];
  let noise = 0;
  const step = async <T>(label: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      const r = await withNoise(ours, fn);
      noise = Math.max(noise, r.foreignCpuShare);
      await sleep(500);
      return r.value;
    } catch (err) {
      log(`  ${p.name} ${label}: ${(err as Error).message}`);
      return undefined;
    }
  };

  const bulk = async (streams: number): Promise<void> => {
    const c0 = cpuSeconds(gw);
    const r = await step(`bulk${streams}`, () => iperf3(children, p.iperfPort, streams, settings.duration));
    const cpu = cpuSeconds(gw) - c0;
    if (!r) return;
    if (streams === 1) f.bulk1Gbps = r.gbps;
    else f.bulk8Gbps = r.gbps;
    if (gw.length) {
      const perGb = cpu / (r.bytes / 1e9);
      if (streams === 1) f.cpuPerGb1 = perGb;
      else f.cpuPerGb8 = perGb;
    }
  };
  // Memory first, on fresh gateways: later tests grow the heaps, and new tunnels would then fit in
  // memory already reserved, understating what a tunnel costs.
  if (p.gateways && settings.tests.has('idle')) {
    const { a, b } = p.gateways;
    p.collectGarbage?.();
    await sleep(500);
    const rssA = rssBytes(a);
    const rssB = rssBytes(b);
    const idle = await step('idle', () => openIdleTunnels(p.redisPort, settings.idleTunnels));
    if (idle) {
      await sleep(500);
      p.collectGarbage?.();
      await sleep(500);
      const n = idle.sockets.length;
      if (n > 0) {
        f.idleKbA = (rssBytes(a) - rssA) / 1024 / n;
        f.idleKbB = (rssBytes(b) - rssB) / 1024 / n;
      }
      if (idle.failed) {
        log(
          `  ${p.name} idle: ${idle.failed} of ${settings.idleTunnels} tunnels failed (${idle.firstError ?? 'timeout or closed'})`,
        );
      }
      await idle.close();
      await sleep(1000); // let the gateways release them before the load tests
    }
  }
  if (settings.tests.has('bulk1')) await bulk(1);
  if (settings.tests.has('bulk8')) await bulk(8);

  const rr = !settings.tests.has('rr')
    ? undefined
    : await step('rr', () => redisPing(children, p.redisPort, settings.rrN));
  if (rr) Object.assign(f, { rrP50us: rr.p50us, rrP99us: rr.p99us });

  const c1 = !settings.tests.has('conn1')
    ? undefined
    : await step('conn1', () =>
        connbench(children, connbenchJs, p.redisPort, 1, settings.connMax1, settings.connSeconds),
      );
  if (c1) Object.assign(f, { setupP50ms: c1.p50_ms, setupP99ms: c1.p99_ms });
  const cpu0 = cpuSeconds(gw);
  const c8 = !settings.tests.has('conn8')
    ? undefined
    : await step('conn8', () =>
        connbench(children, connbenchJs, p.redisPort, 8, settings.connMax8, settings.connSeconds),
      );
  if (c8) {
    f.rate8 = c8.rate;
    if (gw.length) f.cpuMsPerConn = ((cpuSeconds(gw) - cpu0) * 1000) / c8.conns;
    if (c8.errors) log(`  ${p.name} conn8: ${c8.errors} failed connections`);
  }

  f.noise = noise;
  return f;
}

async function main(): Promise<void> {
  for (const tool of ['iperf3', 'redis-server', 'redis-benchmark']) {
    if (!have(tool)) {
      console.error(`${tool} is missing: apt-get install -y iperf3 redis-server redis-tools`);
      process.exit(2);
    }
  }
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), 'cl-bench-work-'));
  const children = new Children();
  let current: RunningPath | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= Promise.resolve(current?.stop())
      .then(() => children.stopAll())
      .finally(() => rmSync(work, { recursive: true, force: true })));
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

  try {
    const connbenchJs = path.join(settings.anchors, 'connbench.js');
    const anchorCerts = path.join(work, 'anchor-certs');
    const certs = spawnSync('bash', [path.join(settings.anchors, 'certs.sh'), anchorCerts], {
      encoding: 'utf8',
    });
    const paths = [...settings.paths];
    if (certs.status !== 0) {
      log(`anchors unavailable (${settings.anchors}): HAProxy skipped`);
      paths.splice(paths.indexOf('haproxy') >>> 0, paths.includes('haproxy') ? 1 : 0);
    }
    const pki = await makePki();

    for (const port of Object.values(settings.servicePorts)) {
      if (!(await portFree(port))) throw new Error(`port ${port} is in use; set SVC_REDIS / SVC_IPERF`);
    }
    const redis = children.spawn('redis-server', [
      '--port',
      String(settings.servicePorts.redis),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--maxclients',
      '20000',
    ]);
    const iperfServer = children.spawn('iperf3', [
      '-s',
      '-B',
      '127.0.0.1',
      '-p',
      String(settings.servicePorts.iperf),
    ]);
    for (const c of [redis, iperfServer]) {
      c.stdout!.resume();
      c.stderr!.resume();
    }
    await Promise.all(Object.values(settings.servicePorts).map((p) => waitForPort(p)));

    const env: PathEnv = {
      children,
      work,
      services: settings.servicePorts,
      anchors: settings.anchors,
      anchorCerts,
      pki,
      variants: settings.variants,
      logDir: out,
      nodeFlags: [
        ...(process.env.SITE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
        ...(settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(out, 'profiles')}`] : []),
      ],
    };
    const results: Record<string, PathFigures[]> = {};
    const notes: string[] = [];
    const ours = (): number[] => [
      process.pid,
      redis.pid!,
      iperfServer.pid!,
      ...(current?.gateways ? [current.gateways.a, current.gateways.b] : []),
    ];

    log(`settings: ${JSON.stringify({ ...settings, tests: [...settings.tests] })}; results in ${out}`);
    for (let rep = 1; rep <= settings.reps; rep++) {
      for (const name of paths) {
        const quiet = await quietWait(settings.quietMax, ours);
        if (quiet >= 0.2)
          log(`machine busy (${Math.round(quiet * 100)}% of a core used by others): measuring anyway`);
        try {
          current = await startPath(name, env);
        } catch (err) {
          const note = `${name}: skipped (${(err as Error).message})`;
          if (!notes.includes(note)) notes.push(note);
          log(note);
          continue;
        }
        log(`rep ${rep}/${settings.reps} ${name} (redis ${current.redisPort}, iperf ${current.iperfPort})`);
        try {
          (results[name] ??= []).push(await measurePath(current, children, ours, connbenchJs));
        } finally {
          await current.stop();
          current = undefined;
        }
      }
    }

    const figures: Record<string, PathFigures> = {};
    for (const name of paths) if (results[name]) figures[name] = medians(results[name]);
    const md = table(figures);
    const versions = [
      `node ${process.version} (OpenSSL ${process.versions.openssl}), ${os.cpus().length} CPUs, ${os.release()}`,
      have('haproxy')
        ? spawnSync('haproxy', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0]
        : 'haproxy: not installed',
      spawnSync('iperf3', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0],
    ];
    const text = [
      `Data-plane benchmark ${stamp}: REPS=${settings.reps} DURATION=${settings.duration}s RR_N=${settings.rrN} CONN_SECONDS=${settings.connSeconds} IDLE_TUNNELS=${settings.idleTunnels}`,
      ...versions,
      '',
      md,
      ...(notes.length ? ['', ...notes.map((n) => `Note: ${n}`)] : []),
    ].join('\n');
    console.log(text);
    writeFileSync(path.join(out, 'summary.md'), text + '\n');
    writeFileSync(
      path.join(out, 'results.json'),
      JSON.stringify({ settings, results, figures, notes }, null, 2),
    );
    log(`results in ${out}`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exitCode = 1;
});
