/**
 * Process plumbing of the data-plane benchmark: spawn and stop children we own, CPU and RSS from
 * /proc (the same measure for HAProxy and for our Node gateways), waiting for ports and for a quiet
 * machine. Linux only; loopback only.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';

export const CLK_TCK = 100; // getconf CLK_TCK on Linux/x86-64 and arm64

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** utime+stime (all threads) of each PID, in seconds; a PID that is gone counts 0. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      /* exited */
    }
  }
  return ticks / CLK_TCK;
}

/** Resident set size of a PID in bytes (VmRSS), 0 when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** User+nice CPU seconds the whole machine spent so far (for the noise gauge). */
function machineUserSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const f = line.split(/\s+/);
  return (Number(f[1]) + Number(f[2])) / CLK_TCK;
}

/** CPU seconds used by other processes while `fn` ran = machine user time minus `ours` (PIDs). */
export async function withNoise<T>(
  ours: () => readonly number[],
  fn: () => Promise<T>,
): Promise<{ value: T; foreignCpuShare: number }> {
  const m0 = machineUserSeconds();
  const o0 = cpuSeconds(ours());
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const foreign = machineUserSeconds() - m0 - (cpuSeconds(ours()) - o0);
  return { value, foreignCpuShare: Math.max(0, foreign) / seconds };
}

/**
 * Waits (at most `maxSeconds`) until other processes use less than 20% of one core, so that what
 * we measure is ours. Returns the share seen last.
 */
export async function quietWait(maxSeconds: number, ours: () => readonly number[]): Promise<number> {
  let share = 1;
  for (let i = 0; i < maxSeconds; i++) {
    share = (await withNoise(ours, () => sleep(1000))).foreignCpuShare;
    if (share < 0.2) break;
  }
  return share;
}

/** Resolves when something accepts TCP connections on 127.0.0.1:port (bounded). */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await sleep(100);
  }
}

/** True when nothing listens on 127.0.0.1:port. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Children started by the benchmark; stopped (TERM, then KILL after 5 s) by stopAll. */
export class Children {
  private readonly children = new Set<ChildProcess>();

  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.on('error', () => undefined);
    return child;
  }

  /** Stops one child we started (and the extra PIDs it reported, e.g. HAProxy under a shell). */
  async stop(child: ChildProcess, extraPids: readonly number[] = []): Promise<void> {
    for (const pid of extraPids) signal(pid, 'SIGTERM');
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (alive(child) || extraPids.some(pidAlive))) await sleep(50);
    for (const pid of extraPids) if (pidAlive(pid)) signal(pid, 'SIGKILL');
    if (alive(child)) child.kill('SIGKILL');
    this.children.delete(child);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.stop(c)));
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Runs a command to completion (bounded by `timeoutMs`), returning its stdout. */
export function run(
  children: Children,
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = children.spawn(command, args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => void children.stop(child), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err) });
    });
  });
}

/** Reads the first line a child prints that starts with `prefix` (bounded by `timeoutMs`). */
export function firstLine(child: ChildProcess, prefix: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(
      () => done(new Error(`no "${prefix}" line within ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    const onData = (d: Buffer): void => {
      buffered += d.toString();
      for (const line of buffered.split('\n')) {
        if (line.startsWith(prefix)) return done(undefined, line.slice(prefix.length).trim());
      }
    };
    const onErr = (d: Buffer): void => {
      stderr = (stderr + d.toString()).slice(-2000);
    };
    const onExit = (): void => done(new Error(`exited before "${prefix}": ${stderr}`));
    function done(err: Error | undefined, line?: string): void {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onErr);
      child.off('exit', onExit);
      // Keep draining the pipes so the child never blocks on a full pipe.
      child.stdout!.resume();
      if (child.stderr!.listenerCount('data') === 0 && !child.stderr!.readableFlowing) child.stderr!.resume();
      if (err) reject(err);
      else resolve(line!);
    }
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onErr);
    child.once('exit', onExit);
  });
}
