/**
 * Runs the kubectl built by test/envtest/build.sh (same Kubernetes version as the test API
 * server) against a test cluster.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { resolveBinDir } from './cluster';

export interface KubectlTarget {
  readonly kubeconfigPath: string;
  /** Folder holding kubectl. @default resolveBinDir() */
  readonly binDir?: string;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's standard input (for `-f -`). */
  readonly input?: string;
  /** @default 60_000 */
  readonly timeoutMs?: number;
}

export class KubectlError extends Error {
  readonly code = 'CL_ERR_KUBECTL_FAILED';
  constructor(
    readonly args: readonly string[],
    readonly result: KubectlResult,
  ) {
    super(
      `kubectl ${args.join(' ')} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
    this.name = 'KubectlError';
  }
}

/** Runs kubectl and resolves with its exit code and output, whatever the exit code. */
export function kubectl(
  target: KubectlTarget,
  args: readonly string[],
  options: KubectlOptions = {},
): Promise<KubectlResult> {
  const binary = path.join(target.binDir ?? resolveBinDir(), 'kubectl');
  // The discovery cache is keyed by host:port, which a later cluster may reuse with other CRDs:
  // keep it next to the kubeconfig so it dies with the cluster.
  const cacheDir = path.join(path.dirname(target.kubeconfigPath), 'kubectl-cache');
  const fullArgs = [`--kubeconfig=${target.kubeconfigPath}`, `--cache-dir=${cacheDir}`, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, fullArgs, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, KUBECONFIG: target.kubeconfigPath },
      timeout: options.timeoutMs ?? 60_000,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8') + (signal ? `\n(kubectl ended by ${signal})` : ''),
      }),
    );
    child.stdin.on('error', () => undefined); // kubectl may exit before reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Like {@link kubectl} but rejects with a {@link KubectlError} unless kubectl exits 0. */
export async function kubectlOk(
  target: KubectlTarget,
  args: readonly string[],
  options: KubectlOptions = {},
): Promise<string> {
  const result = await kubectl(target, args, options);
  if (result.code !== 0) throw new KubectlError(args, result);
  return result.stdout;
}
