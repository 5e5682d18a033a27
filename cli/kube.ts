/** The CLI's access to Kubernetes: the current kubeconfig and errors that say what to do. */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { CliError } from './errors';

export interface KubeTarget {
  /** kubeconfig file; default: $KUBECONFIG or ~/.kube/config (client-node's rules). */
  readonly kubeconfig?: string;
  readonly context?: string;
}

export function loadKubeConfig(target: KubeTarget): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (target.kubeconfig) {
      if (!existsSync(target.kubeconfig)) {
        throw new CliError(
          'CL_ERR_NOT_FOUND',
          `kubeconfig ${target.kubeconfig} does not exist (--kubeconfig or $KUBECONFIG)`,
        );
      }
      kc.loadFromFile(target.kubeconfig);
    } else {
      const home = process.env.HOME ?? os.homedir();
      const configured =
        Boolean(process.env.KUBECONFIG) ||
        existsSync(path.join(home, '.kube', 'config')) ||
        Boolean(process.env.KUBERNETES_SERVICE_HOST);
      // client-node would otherwise fall back to http://localhost:8080, which only confuses.
      if (!configured) {
        throw new CliError(
          'CL_ERR_KUBERNETES',
          'no Kubernetes cluster configured (no $KUBECONFIG, no ~/.kube/config, not in a Pod): pass --kubeconfig, or for a standalone gateway --gateway http://127.0.0.1:9090',
        );
      }
      kc.loadFromDefault();
    }
    if (target.context) {
      if (!kc.getContexts().some((c) => c.name === target.context)) {
        throw new CliError(
          'CL_ERR_NOT_FOUND',
          `--context "${target.context}" is not in the kubeconfig (have: ${
            kc
              .getContexts()
              .map((c) => c.name)
              .join(', ') || 'none'
          })`,
        );
      }
      kc.setCurrentContext(target.context);
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError('CL_ERR_KUBERNETES', `cannot load the kubeconfig: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!kc.getCurrentCluster()) {
    throw new CliError(
      'CL_ERR_KUBERNETES',
      'no Kubernetes cluster configured (set $KUBECONFIG or --kubeconfig; for a standalone gateway use --gateway URL)',
    );
  }
  return kc;
}

/** Turns a client-node error into one that names the operation, the server and a next step. */
export function kubeError(kc: KubeConfig, what: string, err: unknown): CliError {
  const e = err as { code?: number | string; body?: unknown; message?: string; cause?: { code?: string } };
  const server = kc.getCurrentCluster()?.server ?? 'the API server';
  if (typeof e.code === 'number') {
    let detail = '';
    try {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      detail = (body as { message?: string })?.message ?? '';
    } catch {
      detail = typeof e.body === 'string' ? e.body.slice(0, 200) : '';
    }
    const hint =
      e.code === 404
        ? ' (are the ClusterLink CRDs installed? `clusterlink deploy peer --apply` installs them)'
        : e.code === 401 || e.code === 403
          ? ' (check the kubeconfig credentials and RBAC)'
          : '';
    return new CliError(
      'CL_ERR_KUBERNETES',
      `${what}: ${server} answered ${e.code}${detail ? `: ${detail}` : ''}${hint}`,
      { cause: err },
    );
  }
  const code = e.cause?.code ?? (typeof e.code === 'string' ? e.code : undefined);
  return new CliError(
    'CL_ERR_KUBERNETES',
    `${what}: cannot reach ${server} (${code ?? e.message ?? String(err)})`,
    { cause: err },
  );
}
