/**
 * Backend services and client probes that run inside a site's network namespace.
 *
 * The test process itself stays in the root namespace and cannot open a socket inside a site,
 * so every client action is a short child process under `ip netns exec` (probe.js, curl,
 * iperf3, redis-benchmark) whose output is parsed here.
 */
import * as path from 'node:path';
import { podAddress, type SiteNetwork } from './netns';
import { runOk, run, spawnManaged, type ManagedProcess, type RunResult } from './procs';

const SCRIPTS = path.resolve(__dirname, '..', 'e2e', 'harness');
export const BACKEND_SCRIPT = path.join(SCRIPTS, 'backend-server.js');
export const PROBE_SCRIPT = path.join(SCRIPTS, 'probe.js');
export const FORWARD_SCRIPT = path.join(SCRIPTS, 'forward.js');

/** Well-known ports of the backends inside every site (each site has its own port space). */
export const BackendPorts = { http: 8080, sink: 9000, iperf: 5201, redis: 6379 } as const;
/** Pod host number of the backend services' address: `${podPrefix}.10`. */
export const SERVICE_POD_HOST = 10;

export interface SiteBackends {
  /** Address the services are exported at (they listen on 0.0.0.0). */
  readonly address: string;
  readonly processes: readonly ManagedProcess[];
  stop(): Promise<void>;
}

export async function startBackends(site: SiteNetwork, logDir: string): Promise<SiteBackends> {
  const log = (name: string) => path.join(logDir, `${site.site}-${name}.log`);
  const echo = spawnManaged(
    'node',
    [
      BACKEND_SCRIPT,
      '--site',
      site.site,
      '--name',
      'echo',
      '--host',
      '0.0.0.0',
      '--http',
      String(BackendPorts.http),
      '--sink',
      String(BackendPorts.sink),
    ],
    { name: `${site.site}/echo`, netns: site.netns, logFile: log('echo') },
  );
  const iperf = spawnManaged('iperf3', ['-s', '--forceflush', '-p', String(BackendPorts.iperf)], {
    name: `${site.site}/iperf3`,
    netns: site.netns,
    logFile: log('iperf3'),
  });
  const redis = spawnManaged(
    'redis-server',
    [
      '--port',
      String(BackendPorts.redis),
      '--bind',
      '0.0.0.0',
      '--protected-mode',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { name: `${site.site}/redis`, netns: site.netns, logFile: log('redis') },
  );
  const processes = [echo, iperf, redis];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop(2_000)));
  };
  try {
    await Promise.all([
      echo.waitForOutput(/backend ready/),
      iperf.waitForOutput(/Server listening/),
      redis.waitForOutput(/Ready to accept connections/),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address: podAddress(site, SERVICE_POD_HOST), processes, stop };
}

/** Parses the single JSON line a probe prints. */
async function probe<T>(site: SiteNetwork, args: readonly string[], timeoutMs: number): Promise<T> {
  const result = await runOk('node', [PROBE_SCRIPT, ...args], { netns: site.netns, timeoutMs });
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as T;
}

export interface ConnectResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly ms: number;
}

export function tcpConnect(
  site: SiteNetwork,
  host: string,
  port: number,
  options: { timeoutMs?: number; localAddress?: string } = {},
): Promise<ConnectResult> {
  const args = [
    'connect',
    '--host',
    host,
    '--port',
    String(port),
    '--timeout',
    String(options.timeoutMs ?? 3000),
  ];
  if (options.localAddress) args.push('--local', options.localAddress);
  return probe(site, args, (options.timeoutMs ?? 3000) + 10_000);
}

export interface HashResult {
  readonly ok: boolean;
  readonly bytes?: number;
  readonly digest?: string;
  readonly expected?: string;
  readonly site?: string;
  readonly sentBytes: number;
  readonly error?: string;
  readonly ms: number;
}

/** Sends `bytes` random bytes to a hash sink and checks the digest it answers with. */
export function sendAndHash(
  site: SiteNetwork,
  host: string,
  port: number,
  bytes: number,
  options: { localAddress?: string; rateBytesPerSecond?: number; timeoutMs?: number } = {},
): Promise<HashResult> {
  const args = ['hash', '--host', host, '--port', String(port), '--bytes', String(bytes)];
  if (options.localAddress) args.push('--local', options.localAddress);
  if (options.rateBytesPerSecond) args.push('--rate', String(options.rateBytesPerSecond));
  return probe(site, args, options.timeoutMs ?? 300_000);
}

export interface LoadResult {
  readonly ok: boolean;
  readonly conns: number;
  readonly opened: number;
  readonly failed: number;
  readonly closedEarly: number;
  readonly requests: number;
  readonly errors: Record<string, number>;
  readonly ms: number;
}

/** `conns` concurrent keep-alive HTTP connections, each issuing GET / about once a second. */
export function httpLoad(
  site: SiteNetwork,
  host: string,
  port: number,
  conns: number,
  seconds: number,
  localAddress?: string,
): Promise<LoadResult> {
  const args = [
    'load',
    '--host',
    host,
    '--port',
    String(port),
    '--conns',
    String(conns),
    '--seconds',
    String(seconds),
  ];
  if (localAddress) args.push('--local', localAddress);
  return probe(site, args, seconds * 1000 + 60_000);
}

/** Starts any probe subcommand (bad-input probes); returns its parsed JSON. */
export function runProbe<T>(site: SiteNetwork, args: readonly string[], timeoutMs = 60_000): Promise<T> {
  return probe(site, args, timeoutMs);
}

/** curl inside the site; `--interface` picks the client pod address. */
export function curl(
  site: SiteNetwork,
  url: string,
  localAddress?: string,
  maxSeconds = 10,
): Promise<RunResult> {
  const args = ['-sS', '--max-time', String(maxSeconds), url];
  if (localAddress) args.unshift('--interface', localAddress);
  return run('curl', args, { netns: site.netns, timeoutMs: (maxSeconds + 5) * 1000 });
}

export interface IperfResult {
  readonly bitsPerSecond: number;
  readonly retransmits?: number;
}

/** iperf3 client inside `site` for `seconds`; returns the receiver-side throughput. */
export async function iperf(
  site: SiteNetwork,
  host: string,
  port: number,
  seconds: number,
): Promise<IperfResult> {
  const result = await runOk('iperf3', ['-c', host, '-p', String(port), '-t', String(seconds), '-J'], {
    netns: site.netns,
    timeoutMs: (seconds + 30) * 1000,
  });
  const report = JSON.parse(result.stdout) as {
    end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits?: number } };
  };
  return {
    bitsPerSecond: report.end.sum_received.bits_per_second,
    retransmits: report.end.sum_sent.retransmits,
  };
}

export interface RedisBenchResult {
  /** Requests per second of each test (e.g. SET, GET). */
  readonly rps: Record<string, number>;
}

/** redis-benchmark inside `site` (CSV output); throws if it fails. */
export async function redisBenchmark(
  site: SiteNetwork,
  host: string,
  port: number,
  requests: number,
  clients = 20,
): Promise<RedisBenchResult> {
  const result = await runOk(
    'redis-benchmark',
    ['-h', host, '-p', String(port), '-n', String(requests), '-c', String(clients), '-t', 'set,get', '--csv'],
    { netns: site.netns, timeoutMs: 120_000 },
  );
  const rps: Record<string, number> = {};
  for (const line of result.stdout.split('\n')) {
    const match = /^"([A-Z]+)","([\d.]+)"/.exec(line.trim());
    if (match) rps[match[1]] = Number(match[2]);
  }
  if (Object.keys(rps).length === 0)
    throw new Error(`redis-benchmark printed no results:\n${result.stdout}${result.stderr}`);
  return { rps };
}

/** redis-cli round trip (SET then GET) inside `site`; returns the value read back. */
export async function redisRoundTrip(
  site: SiteNetwork,
  host: string,
  port: number,
  value: string,
): Promise<string> {
  const cli = (args: string[]) =>
    runOk('redis-cli', ['-h', host, '-p', String(port), ...args], { netns: site.netns, timeoutMs: 15_000 });
  await cli(['SET', 'e2e', value]);
  return (await cli(['GET', 'e2e'])).stdout.trim();
}
