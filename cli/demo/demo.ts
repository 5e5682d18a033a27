/**
 * `clusterlink demo`: three standalone gateways on loopback addresses (no Kubernetes, no root),
 * two HTTP backends, one Import with two sources; then each behaviour is checked: a request
 * through the tunnel, round-robin, a deny policy, failover when a gateway is killed, and peer
 * reachability in status. Succeeds only if every step behaved.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { StatusReport } from '../../controller/standalone/report';
import type { CliContext } from '../context';
import { CliError } from '../errors';
import { explainImport, formatExplanation } from '../policy/explain';
import { Progress } from '../progress';
import { formatStatus } from '../status/format';
import { fetchGatewayStatus } from '../status/gateway-source';
import { GatewayProcess, type GatewayCommand } from './gateway-process';
import { freePort, httpGet, startEchoBackend, type EchoBackend } from './net';
import {
  ALLOW_ALL,
  denyToPeerYaml,
  exportYaml,
  importYaml,
  peerYaml,
  removeConfig,
  writeCertificates,
  writeConfig,
  type DemoSite,
} from './sites';

export interface DemoOptions {
  /** How to run `clusterlink gateway` as a child process. */
  readonly gatewayCommand: GatewayCommand;
  /** Loopback addresses of the client site and the two server sites. */
  readonly hosts?: readonly [string, string, string];
  /** Heartbeat interval of the gateways. @default 250 */
  readonly heartbeatMs?: number;
  /** Keep the working directory (configuration and logs) afterwards. */
  readonly keep?: boolean;
  /** Aborts the demo (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Time limit of one step. @default 60000 */
  readonly stepTimeoutMs?: number;
}

const IMPORT = 'echo';

export async function runDemo(ctx: CliContext, options: DemoOptions): Promise<void> {
  const [clientHost, eastHost, westHost] = options.hosts ?? ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  const heartbeatMs = options.heartbeatMs ?? 250;
  const stepTimeoutMs = options.stepTimeoutMs ?? 60_000;
  const progress = new Progress(ctx);
  const root = mkdtempSync(path.join(tmpdir(), 'clusterlink-demo-'));
  const backends: EchoBackend[] = [];
  const gateways = new Map<string, GatewayProcess>();
  const started = Date.now();

  const aborted = () => {
    if (options.signal?.aborted) throw new CliError('CL_ERR_DEMO_FAILED', 'interrupted');
  };
  /** Retries `probe` until it returns a value, within the step time limit. */
  const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + stepTimeoutMs;
    let last = '';
    for (;;) {
      aborted();
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline)
        throw new Error(
          `${what} did not happen within ${stepTimeoutMs / 1000}s${last ? ` (last error: ${last})` : ''}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // Generous: a client whose source dies mid-connection waits for the data plane's tunnel-open timeout.
  const request = () => httpGet(clientHost, importPort, 20000);
  let slowestMs = 0;
  const requests = async (n: number) => {
    const answers: string[] = [];
    slowestMs = 0;
    for (let i = 0; i < n; i++) {
      const t0 = Date.now();
      answers.push(await request());
      slowestMs = Math.max(slowestMs, Date.now() - t0);
    }
    return answers;
  };
  const count = (answers: readonly string[]) =>
    Object.entries(answers.reduce<Record<string, number>>((m, a) => ({ ...m, [a]: (m[a] ?? 0) + 1 }), {}))
      .map(([a, n]) => `${n}× "${a}"`)
      .join(', ');
  const clientStatus = () => fetchGatewayStatus(gateways.get('client')!.adminUrl, 2000);
  const peerIn = (s: StatusReport, name: string) => s.peers.find((p) => p.name === name);

  let importPort = 0;
  // Ctrl-C stops the gateways and services at once; the step in progress then fails fast.
  let stopping: Promise<void> | undefined;
  const stopEverything = () =>
    (stopping ??= (async () => {
      await Promise.all([...gateways.values()].map((gw) => gw.kill('SIGTERM')));
      await Promise.all(backends.map((b) => b.close()));
    })());
  const onAbort = () => void stopEverything();
  options.signal?.addEventListener('abort', onAbort);
  try {
    ctx.err(
      `ClusterLink demo: three sites on ${clientHost} (client), ${eastHost} (east), ${westHost} (west); working directory ${root}\n\n`,
    );
    const sites = await progress.step('Create a fabric CA and a certificate per site', async (update) => {
      const make = async (name: string, host: string): Promise<DemoSite> => ({
        name,
        host,
        dir: path.join(root, name),
        gatewayPort: await freePort(host),
        adminPort: await freePort(host),
      });
      const list = [
        await make('client', clientHost),
        await make('east', eastHost),
        await make('west', westHost),
      ];
      await writeCertificates(root, list);
      update(list.map((s) => `${s.name} → ${s.host}:${s.gatewayPort}`).join(', '));
      return { client: list[0], east: list[1], west: list[2] };
    });

    await progress.step('Start the echo services of east and west and export them', async (update) => {
      for (const site of [sites.east, sites.west]) {
        const backend = await startEchoBackend(site.name, site.host);
        backends.push(backend);
        writeConfig(site, 'export.yaml', exportYaml(IMPORT, backend.host, backend.port));
        writeConfig(site, 'policy.yaml', ALLOW_ALL);
      }
      update(backends.map((b) => `${b.host}:${b.port}`).join(', '));
    });

    importPort = await freePort(clientHost);
    await progress.step('Import "echo" at the client site from both east and west', async (update) => {
      writeConfig(sites.client, 'peers.yaml', `${peerYaml(sites.east)}---\n${peerYaml(sites.west)}`);
      writeConfig(sites.client, 'import.yaml', importYaml(IMPORT, importPort, ['east', 'west']));
      writeConfig(sites.client, 'policy.yaml', ALLOW_ALL);
      update(`clients connect to ${clientHost}:${importPort}`);
    });

    const startGateway = (site: DemoSite) => {
      const gw = new GatewayProcess(options.gatewayCommand, {
        name: site.name,
        configDir: site.dir,
        host: site.host,
        gatewayPort: site.gatewayPort,
        adminPort: site.adminPort,
        heartbeatMs,
        logFile: path.join(root, `${site.name}.log`),
      });
      gateways.set(site.name, gw);
      gw.start();
      return gw;
    };
    await progress.step(
      'Start three gateways (child processes: clusterlink gateway --config DIR)',
      async (update) => {
        const all = [sites.client, sites.east, sites.west].map(startGateway);
        for (const gw of all) {
          aborted();
          update(`waiting for ${gw.options.name} (${gw.adminUrl}/readyz)`);
          await gw.waitReady(stepTimeoutMs);
        }
        update(`client, east and west ready; logs in ${root}/*.log`);
      },
    );

    await progress.step('A request through the tunnel', async (update) => {
      const answer = await until('an answer through the tunnel', async () => request());
      if (!/^hello from (east|west)$/.test(answer)) throw new Error(`unexpected answer "${answer}"`);
      update(`GET http://${clientHost}:${importPort}/ → "${answer}"`);
    });

    await progress.step('Round-robin across both sites', async (update) => {
      const answers = await requests(6);
      if (!answers.includes('hello from east') || !answers.includes('hello from west')) {
        throw new Error(`6 requests were answered by only one site: ${count(answers)}`);
      }
      update(count(answers));
    });

    await progress.step('A deny policy takes effect (client denies connections to west)', async (update) => {
      writeConfig(sites.client, 'deny-west.yaml', denyToPeerYaml('deny-west', 'west'));
      await until('the policy to be loaded', async () =>
        (await clientStatus()).policies.some((p) => p.name === 'deny-west') ? true : undefined,
      );
      const answers = await requests(6);
      if (answers.some((a) => a !== 'hello from east'))
        throw new Error(`west still answered: ${count(answers)}`);
      const [east, west] = await Promise.all([
        fetchGatewayStatus(gateways.get('east')!.adminUrl),
        fetchGatewayStatus(gateways.get('west')!.adminUrl),
      ]);
      const why = explainImport({
        importer: await clientStatus(),
        importName: IMPORT,
        importNamespace: 'default',
        sourcePeers: ['west'],
        exporters: new Map([
          ['east', east],
          ['west', west],
        ]),
      });
      if (why.sources[0].verdict !== 'denied')
        throw new Error(`policy explain says ${why.sources[0].verdict}`);
      update(`${count(answers)}`);
      progress.note('clusterlink policy explain --import echo --source-peer west:');
      for (const line of formatExplanation(why).trimEnd().split('\n')) progress.note(`  ${line}`);
      removeConfig(sites.client, 'deny-west.yaml');
      await until('the deny policy to be removed', async () =>
        (await clientStatus()).policies.some((p) => p.name === 'deny-west') ? undefined : true,
      );
    });

    await progress.step('Kill the east gateway: traffic fails over to west', async (update) => {
      await until('east to be reachable before the kill', async () =>
        peerIn(await clientStatus(), 'east')?.reachable ? true : undefined,
      );
      await gateways.get('east')!.kill('SIGKILL');
      const answers = await requests(6);
      if (answers.some((a) => a !== 'hello from west'))
        throw new Error(`unexpected answers: ${count(answers)}`);
      update(
        `east killed (SIGKILL); ${count(answers)}; no request failed (slowest ${(slowestMs / 1000).toFixed(1)}s)`,
      );
    });

    await progress.step('Status shows east unreachable', async (update) => {
      const east = await until('east to be marked unreachable', async () => {
        const p = peerIn(await clientStatus(), 'east');
        return p?.reachable === false ? p : undefined;
      });
      update(`reachable: no, reason ${east.reason}: ${east.message ?? ''}`);
    });

    await progress.step('Restart east: reachable again, round-robin resumes', async (update) => {
      const gw = gateways.get('east')!;
      gw.start();
      await gw.waitReady(stepTimeoutMs);
      const east = await until('east to be reachable again', async () => {
        const p = peerIn(await clientStatus(), 'east');
        return p?.reachable === true ? p : undefined;
      });
      const answers = await until('both sites to answer again', async () => {
        const a = await requests(6);
        return a.includes('hello from east') && a.includes('hello from west') ? a : undefined;
      });
      update(`east reachable (rtt ${east.rttMs ?? '?'}ms); ${count(answers)}`);
    });

    ctx.out(`\nclusterlink status --gateway ${gateways.get('client')!.adminUrl}\n\n`);
    ctx.out(formatStatus(await clientStatus(), 'table'));
    ctx.err(`\nAll steps behaved (${((Date.now() - started) / 1000).toFixed(1)}s).\n`);
  } catch (err) {
    progress.stop();
    if (options.signal?.aborted)
      throw new CliError('CL_ERR_DEMO_FAILED', 'interrupted: gateways and services stopped');
    for (const gw of gateways.values()) {
      ctx.err(
        `\n  last lines of the ${gw.options.name} gateway log (${gw.options.logFile}):\n${gw.logTail(8)}\n`,
      );
    }
    if (err instanceof CliError) throw err;
    throw new CliError('CL_ERR_DEMO_FAILED', `demo failed: ${(err as Error).message}`, { cause: err });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await stopEverything();
    if (options.keep) ctx.err(`Kept ${root} (configuration and logs).\n`);
    else rmSync(root, { recursive: true, force: true });
  }
}
