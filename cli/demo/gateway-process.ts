/** A standalone gateway run as a child process (so the demo can really kill it). */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

export interface GatewayCommand {
  readonly command: string;
  /** Arguments before `gateway ...` (e.g. the path of main.js). */
  readonly args: readonly string[];
}

export interface GatewayProcessOptions {
  readonly name: string;
  readonly configDir: string;
  readonly host: string;
  readonly gatewayPort: number;
  readonly adminPort: number;
  readonly heartbeatMs: number;
  readonly logFile: string;
}

export class GatewayProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly command: GatewayCommand,
    readonly options: GatewayProcessOptions,
  ) {}

  get adminUrl(): string {
    return `http://${this.options.host}:${this.options.adminPort}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const o = this.options;
    const log = openSync(o.logFile, 'a');
    const child = spawn(
      this.command.command,
      [
        ...this.command.args,
        'gateway',
        '--config',
        o.configDir,
        '--gateway-host',
        o.host,
        '--gateway-port',
        String(o.gatewayPort),
        '--admin-host',
        o.host,
        '--admin-port',
        String(o.adminPort),
        '--listen-host',
        o.host,
        '--heartbeat-interval',
        String(o.heartbeatMs),
      ],
      {
        stdio: ['ignore', log, log],
        env: { ...process.env, CL_LOG_LEVEL: process.env.CL_LOG_LEVEL ?? 'info' },
      },
    );
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Resolves once /readyz answers 200; rejects if the process exits first or time runs out. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running)
        throw new Error(`gateway ${this.options.name} exited during start-up:\n${this.logTail()}`);
      try {
        const res = await fetch(`${this.adminUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`gateway ${this.options.name} not ready after ${timeoutMs} ms:\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kills the process with `signal` and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  logTail(lines = 15): string {
    try {
      return readFileSync(this.options.logFile, 'utf8')
        .trimEnd()
        .split('\n')
        .slice(-lines)
        .map((l) => `      ${l}`)
        .join('\n');
    } catch {
      return '      (no log)';
    }
  }
}
