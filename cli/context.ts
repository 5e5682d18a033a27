/** What a command needs from its surroundings; tests pass their own to capture output. */
export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal: progress is drawn in place instead of line by line. */
  readonly interactive: boolean;
  readonly env: NodeJS.ProcessEnv;
}

export function processContext(): CliContext {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interactive: Boolean(process.stderr.isTTY),
    env: process.env,
  };
}
