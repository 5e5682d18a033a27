/**
 * One benchmark site: a DataPlane in its own process (so each gateway gets its own core, as in a real
 * deployment), fed one snapshot from a JSON file. Prints `SITE {json}` with its addresses once ready,
 * runs until SIGTERM (or its parent goes away), then closes.
 *
 *   node lib/bench/site.js CONFIG.json      CONFIG = { snapshot, gatewayPort?, forceHttp1? }
 *
 * For ../shared/bench/anchors/run.sh (bench/anchor-path.sh), with that harness's certificates
 * (gw-a.test, gw-b.test) and fixed ports:
 *   node lib/bench/site.js --anchor b CERTS B_PORT SVC_REDIS SVC_IPERF
 *   node lib/bench/site.js --anchor a CERTS B_PORT A_REDIS A_IPERF
 */
import { fstatSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { GatewaySnapshot } from '../kernel/api/snapshot';
import { createLogger, logLevelFromEnvironment } from '../kernel/log';
import { DataPlane } from '../dataplane';
import { exportingSite, importingSite, type BenchPki } from './harness/snapshots';

export interface SiteConfig {
  readonly snapshot: GatewaySnapshot;
  readonly gatewayPort?: number;
  readonly forceHttp1?: boolean;
}

export interface SiteReady {
  readonly pid: number;
  readonly gateway: { host: string; port: number };
  /** Import name -> listener port. */
  readonly imports: Record<string, number>;
}

/** Site config from the anchors harness's certificate folder (certs.sh) and ports. */
function anchorConfig(args: readonly string[]): SiteConfig {
  const [side, certs, bPort, port1, port2] = args;
  const read = (f: string): string => readFileSync(path.join(certs, f), 'utf8');
  const pki: BenchPki = {
    ca: { cert: read('ca.crt'), key: '' },
    a: { cert: read('gw-a.crt'), key: read('gw-a.key') },
    b: { cert: read('gw-b.crt'), key: read('gw-b.key') },
    names: { a: 'gw-a.test', b: 'gw-b.test' },
  };
  const ports = { redis: Number(port1), iperf: Number(port2) };
  if (side === 'b') return { snapshot: exportingSite(pki, ports), gatewayPort: Number(bPort) };
  if (side === 'a')
    return { snapshot: importingSite(pki, { host: '127.0.0.1', port: Number(bPort) }, ports) };
  throw new Error(`--anchor a|b CERTS B_PORT PORT1 PORT2, not ${args.join(' ')}`);
}

/**
 * Tuning experiments (bench only): BENCH_TUNING='{"STREAM_HIGH_WATER_MARK":65536,...}' replaces
 * constants of dataplane/tuning.ts in this process before the DataPlane is built (the compiled
 * modules read them through the module's exports object at use time). The H2_* window and frame
 * sizes are copied into H2_SETTINGS as well.
 */
function applyTuningOverrides(): void {
  if (!process.env.BENCH_TUNING) return;
  const overrides = JSON.parse(process.env.BENCH_TUNING) as Record<string, number>;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tuning = require('../dataplane/tuning') as Record<string, unknown> & {
    H2_SETTINGS: Record<string, unknown>;
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in tuning)) throw new Error(`BENCH_TUNING: no constant ${k} in dataplane/tuning`);
    tuning[k] = v;
  }
  tuning.H2_SETTINGS = {
    ...tuning.H2_SETTINGS,
    initialWindowSize: tuning.H2_INITIAL_WINDOW_SIZE,
    maxFrameSize: tuning.H2_MAX_FRAME_SIZE,
  };
}

async function main(): Promise<void> {
  applyTuningOverrides();
  const config =
    process.argv[2] === '--anchor'
      ? anchorConfig(process.argv.slice(3))
      : (JSON.parse(readFileSync(process.argv[2], 'utf8')) as SiteConfig);
  const dataPlane = new DataPlane({
    gatewayHost: '127.0.0.1',
    gatewayPort: config.gatewayPort ?? 0,
    metricsRegistry: new Registry(),
    // Logs to stderr (stdout carries the SITE line); the benchmark keeps them in its output folder.
    logger: createLogger({
      level: logLevelFromEnvironment() ?? 'warn',
      name: 'bench-site',
      destination: pino.destination(2),
    }),
    forceHttp1: config.forceHttp1,
  });
  await dataPlane.start();
  await dataPlane.applySnapshot(config.snapshot);
  const imports: Record<string, number> = {};
  for (const i of config.snapshot.imports) {
    const a = dataPlane.importAddress(i.namespace, i.name);
    if (!a) throw new Error(`import ${i.name} has no listener`);
    imports[i.name] = a.port;
  }
  // The benchmark asks for a full GC before it samples RSS (memory per idle tunnel); needs --expose-gc.
  // Installed before the SITE line: the benchmark may signal as soon as it reads it.
  process.on('SIGUSR2', () => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    process.stderr.write(`MEM ${JSON.stringify({ ...m, tunnels: dataPlane.activeTunnels })}\n`);
  });

  const ready: SiteReady = { pid: process.pid, gateway: dataPlane.gatewayAddress, imports };
  process.stdout.write(`SITE ${JSON.stringify(ready)}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // Exit normally (not by the signal) so that --cpu-prof writes its profile.
    dataPlane.destroy();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
  // Started by the benchmark, stdin is a pipe from it: its end means the parent is gone.
  if (fstatSync(0).isFIFO()) process.stdin.on('end', stop).resume();
}

main().catch((err: unknown) => {
  process.stderr.write(`site failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
