/**
 * Child processes for the end-to-end suite with guaranteed cleanup.
 *
 * Every child is spawned `detached`, so it leads its own process group and a kill reaches the
 * whole tree (`ip netns exec` execs in place, so the group is the real program). Every child is
 * registered until it exits; `stopAllProcesses()` (afterAll) stops them gracefully and a
 * synchronous `exit` hook SIGKILLs whatever is left if the test process dies first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface SpawnOptions {
  /** Short name for logs and error messages. */
  readonly name: string;
  /** Run inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** Extra environment on top of the test process's. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Append stdout and stderr to this file (kept for post-mortem of a failed run). */
  readonly logFile?: string;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const OUTPUT_TAIL_BYTES = 64 * 1024;
const live = new Set<ManagedProcess>();

export class ProcessError extends Error {
  readonly code = 'CL_E2E_PROCESS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProcessError';
  }
}

function withNetns(netns: string | undefined, command: string, args: readonly string[]): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, command, ...args]] : [command, [...args]];
}

/** A long-running child (server, gateway, control plane). */
export class ManagedProcess {
  readonly name: string;
  readonly exited: Promise<ExitStatus>;
  /** Resolves after `exited` once the output pipes are closed too, i.e. all output has been read. */
  readonly finished: Promise<ExitStatus>;
  private readonly child: ChildProcess;
  private tail = '';
  private status: ExitStatus | undefined;
  private readonly log: WriteStream | undefined;
  private readonly outputWaiters = new Set<() => void>();

  constructor(command: string, args: readonly string[], options: SpawnOptions) {
    this.name = options.name;
    const [cmd, argv] = withNetns(options.netns, command, args);
    this.log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
    this.log?.on('error', () => undefined); // a log file problem must not fail the test run
    this.child = spawn(cmd, argv, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this);
    const onData = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
      // Output can still arrive after 'exit' (the pipes close later): never write to an ended log.
      if (this.log && !this.log.writableEnded) this.log.write(chunk);
      for (const wake of this.outputWaiters) wake();
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise<ExitStatus>((resolve) => {
      const done = (status: ExitStatus) => {
        if (this.status) return;
        this.status = status;
        live.delete(this);
        for (const wake of this.outputWaiters) wake();
        resolve(status);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', (err) => {
        this.tail += `\n[spawn error] ${err.message}`;
        done({ code: -1, signal: null });
      });
    });
    const pipesClosed = new Promise<void>((resolve) => {
      this.child.once('close', () => resolve());
      this.child.once('error', () => resolve());
    });
    // The log ends once the pipes are closed, so late output still reaches it.
    void pipesClosed.then(() => this.log?.end());
    this.finished = pipesClosed.then(() => this.exited);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  /** The last 64 KiB the process wrote to stdout and stderr. */
  output(): string {
    return this.tail;
  }

  /** Resolves when the output matches `pattern`; rejects if the process exits first or on timeout. */
  waitForOutput(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const check = () => {
        const match = this.tail.match(pattern);
        if (match) {
          finish();
          resolve(match);
        } else if (this.status) {
          finish();
          reject(
            new ProcessError(
              `${this.name} exited (${fmt(this.status)}) before printing ${pattern}:\n${this.tail}`,
            ),
          );
        }
      };
      const finish = () => {
        clearTimeout(timer);
        this.outputWaiters.delete(check);
      };
      timer = setTimeout(() => {
        finish();
        reject(
          new ProcessError(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.tail}`),
        );
      }, timeoutMs);
      this.outputWaiters.add(check);
      check();
    });
  }

  /** Sends a signal to the whole process group (no-op once exited). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. Idempotent. */
  async stop(graceMs = 5_000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL the group at once (a crash, as a fault-injection step). */
  async kill(): Promise<ExitStatus> {
    this.signal('SIGKILL');
    return this.exited;
  }
}

function fmt(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

export function spawnManaged(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ManagedProcess {
  return new ManagedProcess(command, args, options);
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface RunOptions extends Omit<SpawnOptions, 'name' | 'logFile'> {
  /** Kill the command (SIGKILL to its group) after this long. @default 60000 */
  readonly timeoutMs?: number;
  readonly input?: string | Buffer;
}

/** Runs a short command to completion and returns its output; never rejects on a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [cmd, argv] = withNetns(options.netns, command, args);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      detached: true,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const handle = { signal: (s: NodeJS.Signals) => child.pid && safeKill(-child.pid, s) };
    shortLived.add(handle);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => handle.signal('SIGKILL'), options.timeoutMs ?? 60_000);
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, extra = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      shortLived.delete(handle);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + extra,
        durationMs: Date.now() - started,
      });
    };
    child.once('close', (code, signal) => finish(code, signal));
    child.once('error', (e) => finish(-1, null, `[spawn error] ${e.message}`));
  });
}

/** Like `run`, but rejects with the output when the command fails. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const where = options.netns ? ` (netns ${options.netns})` : '';
    throw new ProcessError(
      `${command} ${args.join(' ')}${where} failed (${fmt(result)}):\n${result.stderr}${result.stdout}`,
    );
  }
  return result;
}

const shortLived = new Set<{ signal(s: NodeJS.Signals): unknown }>();

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * SIGKILLs every short command (`run`/`runOk`) still running, e.g. the clients of a test that ran
 * out of time, so that its awaits settle and its cleanup runs; returns how many were killed.
 * Long-running children (`spawnManaged`) are left alone.
 */
export function killShortLived(): number {
  const count = shortLived.size;
  for (const handle of shortLived) handle.signal('SIGKILL');
  return count;
}

/** Stops every child this process started (graceful first). For afterAll. */
export async function stopAllProcesses(graceMs = 3_000): Promise<void> {
  for (const handle of shortLived) handle.signal('SIGKILL');
  await Promise.all([...live].map((p) => p.stop(graceMs)));
}

export function liveProcesses(): readonly ManagedProcess[] {
  return [...live];
}

// Last resort when the test process exits without afterAll (crash, timeout, Ctrl-C).
process.once('exit', () => {
  for (const p of live) p.signal('SIGKILL');
  for (const handle of shortLived) handle.signal('SIGKILL');
});
