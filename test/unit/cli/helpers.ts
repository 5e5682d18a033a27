import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CliContext } from '../../../cli/context';
import { run } from '../../../cli/program';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export function captureContext(
  env: NodeJS.ProcessEnv = {},
): CliContext & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (t) => void stdout.push(t),
    err: (t) => void stderr.push(t),
    interactive: false,
    env,
  };
}

/** Runs one `clusterlink` invocation in-process. */
export async function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Captured> {
  const ctx = captureContext(env);
  const code = await run(args, ctx);
  return { code, stdout: ctx.stdout.join(''), stderr: ctx.stderr.join('') };
}

export function tempDir(prefix = 'cl-cli-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
