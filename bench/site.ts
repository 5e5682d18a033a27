/**
 * One benchmark site: a DataPlane in its own process (so each gateway gets its own core, as in a real
 * deployment), fed one snapshot from a JSON file. Prints `SITE {json}` with its addresses once ready,
 * runs until SIGTERM (or its parent goes away), then closes.
 *
 *   node lib/bench/site.js CONFIG.json      CONFIG = { snapshot, gatewayPort?, forceHttp1? }
 */
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import type { GatewaySnapshot } from '../controller/api/snapshot';
import { createLogger } from '../controller/log';
import { DataPlane } from '../dataplane';

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

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as SiteConfig;
  const dataPlane = new DataPlane({
    gatewayHost: '127.0.0.1',
    gatewayPort: config.gatewayPort ?? 0,
    metricsRegistry: new Registry(),
    logger: createLogger({ level: process.env.CLUSTERLINK_LOG_LEVEL ?? 'warn', name: 'bench-site' }),
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
  process.stdin.on('end', stop).resume(); // the parent died: its end of our stdin closes
}

main().catch((err: unknown) => {
  process.stderr.write(`site failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
