/**
 * The load of the data-plane benchmark, the same for every path: iperf3 bulk (1 and 8 streams),
 * redis-benchmark PING on one kept-open connection, fresh connections with the shared connbench.js,
 * and N idle tunnels held open (PING/PONG once each) for the memory figure. Every run is bounded.
 */
import * as net from 'node:net';
import { run, type Children } from './proc';

export interface BulkResult {
  readonly gbps: number;
  readonly bytes: number;
}

export async function iperf3(
  children: Children,
  port: number,
  streams: number,
  seconds: number,
): Promise<BulkResult> {
  const args = ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-P', String(streams), '-J'];
  const r = await run(children, 'iperf3', args, (seconds + 30) * 1000);
  let parsed: { end?: { sum_received?: { bits_per_second: number; bytes: number } }; error?: string };
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed;
  } catch {
    throw new Error(`iperf3 gave no JSON (exit ${r.code}): ${r.stderr.slice(0, 300)}`);
  }
  const sum = parsed.end?.sum_received;
  if (!sum) throw new Error(`iperf3: ${parsed.error ?? 'no result'}`);
  return { gbps: sum.bits_per_second / 1e9, bytes: sum.bytes };
}

export interface LatencyResult {
  readonly rps: number;
  readonly p50us: number;
  readonly p99us: number;
}

/** redis-benchmark PING (multi-bulk) on one connection, one request at a time. */
export async function redisPing(children: Children, port: number, requests: number): Promise<LatencyResult> {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-c',
    '1',
    '-n',
    String(requests),
    '-t',
    'ping_mbulk',
    '--csv',
  ];
  const r = await run(children, 'redis-benchmark', args, 120_000);
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const row = r.stdout
    .trim()
    .split('\n')[1]
    ?.split(',')
    .map((v) => Number(v.replace(/"/g, '')));
  if (!row || !(row[1] > 0)) throw new Error(`redis-benchmark gave no result: ${r.stderr.slice(0, 300)}`);
  return { rps: row[1], p50us: row[4] * 1000, p99us: row[6] * 1000 };
}

export interface ConnResult {
  readonly conns: number;
  readonly errors: number;
  readonly rate: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
}

/** The shared fresh-connection benchmark (connect, PING, PONG, close), invoked as is. */
export async function connbench(
  children: Children,
  connbenchJs: string,
  port: number,
  concurrency: number,
  maxConns: number,
  seconds: number,
): Promise<ConnResult> {
  const args = [connbenchJs, String(port), String(concurrency), String(maxConns), String(seconds)];
  const r = await run(children, process.execPath, args, (seconds + 20) * 1000);
  try {
    const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ConnResult;
    if (!j.conns) throw new Error('no connection succeeded');
    return j;
  } catch (err) {
    throw new Error(`connbench: ${(err as Error).message} ${r.stderr.slice(0, 300)}`);
  }
}

/**
 * Opens `count` connections to a redis port, each answered once (PING -> PONG) so the tunnel is
 * fully established at both gateways, and keeps them open until `close()`.
 */
export async function openIdleTunnels(
  port: number,
  count: number,
  timeoutMs = 30_000,
): Promise<{ sockets: net.Socket[]; failed: number; firstError?: string; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const deadline = Date.now() + timeoutMs;
  const openOne = (): Promise<void> =>
    new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
      let got = '';
      const timer = setTimeout(() => fail(), Math.max(1, deadline - Date.now()));
      let settled = false;
      const fail = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        failed++;
        s.destroy();
        resolve();
      };
      s.once('connect', () => s.write('PING\r\n'));
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (!settled && got.includes('+PONG\r\n')) {
          settled = true;
          clearTimeout(timer);
          s.removeAllListeners('data');
          s.on('error', () => undefined);
          sockets.push(s);
          resolve();
        }
      });
      s.once('error', (err: Error) => {
        firstError ??= err.message;
        fail();
      });
      s.once('close', () => (got.includes('+PONG') ? undefined : fail()));
    });
  // 32 at a time: fast, without a SYN storm that would measure the accept queue instead.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && Date.now() < deadline) {
      next++;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return {
    sockets,
    failed,
    firstError,
    close: async () => {
      await Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.destroyed) return resolve();
              s.once('close', () => resolve());
              s.destroy();
            }),
        ),
      );
    },
  };
}
