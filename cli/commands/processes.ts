/**
 * `clusterlink controlplane` and `clusterlink dataplane`: the two processes of a gateway in
 * Kubernetes (one image, two Deployments). Options come from flags or the environment the
 * Deployments set (CL_NAMESPACE, KUBECONFIG, CL_CERT_DIR, CL_PEER_LABELS, CL_LOG_LEVEL,
 * CL_CONTROLPLANE, CL_GATEWAY_PORT, CL_ADMIN_PORT).
 */
import { Command } from 'commander';
import { controlPlaneOptionsFromEnv, runControlPlane } from '../../controller/main';
import { connectToControlPlane } from '../../controller/snapshot/client';
import { createLogger, logLevelFromEnvironment } from '../../kernel/log';
import { runDataPlane } from '../../dataplane/main';
import type { CliContext } from '../context';
import { CliError } from '../errors';
import { LIMIT_FLAG_HELP, parseLimits } from '../limits';
import { waitForShutdownSignal } from '../signals';
import { checkLogLevel, collect, parseLabels, parsePort } from '../validate';
import {
  ADMIN_PORT,
  CERT_DIR,
  CONTROLPLANE_NAME,
  GATEWAY_CONTAINER_PORT,
  SNAPSHOT_PORT,
} from '../../kernel/api/conventions';

function logLevel(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return checkLogLevel(flag ?? logLevelFromEnvironment(env));
}

function hostPort(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function port(flag: string, value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : parsePort(flag, value, { allowZero: true });
}

/** Start-up failures (certificates, kubeconfig, ports) as user errors naming the cause. */
function startFailure(what: string, err: unknown): CliError {
  const e = err as Error & { code?: string };
  return new CliError(
    e.code === 'CL_ERR_BAD_CERTIFICATE' ? 'CL_ERR_BAD_CERTIFICATE' : 'CL_ERR_UNAVAILABLE',
    `${what} did not start: ${e.message}`,
    { cause: err },
  );
}

export function controlPlaneCommand(ctx: CliContext): Command {
  return new Command('controlplane')
    .description(
      'run the Kubernetes control plane of a gateway (normally inside the cl-controlplane Deployment)',
    )
    .option('--namespace <ns>', 'gateway namespace (env CL_NAMESPACE)')
    .option('--kubeconfig <file>', 'kubeconfig (env KUBECONFIG; default in-cluster)')
    .option('--cert-dir <dir>', `ca.pem, cert.pem, key.pem (env CL_CERT_DIR; default ${CERT_DIR})`)
    .option(
      '--peer-label <k=v>',
      'a label of this peer, repeatable (env CL_PEER_LABELS "k=v,k2=v2")',
      collect,
      [],
    )
    .option('--admin-port <port>', `health and metrics (env CL_ADMIN_PORT; default ${ADMIN_PORT})`)
    .option(
      '--snapshot-port <port>',
      `snapshots for the data planes (env CL_SNAPSHOT_PORT; default ${SNAPSHOT_PORT})`,
    )
    .option(
      '--gateway-port <port>',
      `the data plane's gateway container port, never given to an Import (env CL_GATEWAY_PORT; default ${GATEWAY_CONTAINER_PORT})`,
    )
    .option('--log-level <level>', 'log level (env CL_LOG_LEVEL)')
    .action(
      async (flags: {
        namespace?: string;
        kubeconfig?: string;
        certDir?: string;
        peerLabel: string[];
        adminPort?: string;
        snapshotPort?: string;
        gatewayPort?: string;
        logLevel?: string;
      }) => {
        const env = ctx.env;
        const options = {
          // Lease and identity settings (CL_IDENTITY / POD_NAME, CL_LEASE_*) come from the environment only.
          ...controlPlaneOptionsFromEnv(env),
          namespace: flags.namespace ?? env.CL_NAMESPACE,
          kubeconfigPath: flags.kubeconfig ?? env.KUBECONFIG,
          certDir: flags.certDir ?? env.CL_CERT_DIR,
          peerLabels: parseLabels('--peer-label', [
            ...(env.CL_PEER_LABELS ? [env.CL_PEER_LABELS] : []),
            ...flags.peerLabel,
          ]),
          adminPort: port('--admin-port', flags.adminPort ?? env.CL_ADMIN_PORT, ADMIN_PORT),
          snapshotPort: port('--snapshot-port', flags.snapshotPort ?? env.CL_SNAPSHOT_PORT, SNAPSHOT_PORT),
          gatewayPort: port(
            '--gateway-port',
            flags.gatewayPort ?? env.CL_GATEWAY_PORT,
            GATEWAY_CONTAINER_PORT,
          ),
          logLevel: logLevel(flags.logLevel, env),
        };
        const cp = await runControlPlane(options).catch((err: unknown) => {
          throw startFailure('the control plane', err);
        });
        ctx.err(
          `control plane of peer "${cp.peerName}" running; snapshots on ${hostPort(cp.snapshotAddress)}, admin on ${hostPort(cp.adminAddress)}\n`,
        );
        const signal = await waitForShutdownSignal();
        ctx.err(`${signal}: closing the control plane\n`);
        await cp.close();
      },
    );
}

export function dataPlaneCommand(ctx: CliContext): Command {
  return new Command('dataplane')
    .description('run a data-plane replica of a gateway (normally inside the cl-dataplane Deployment)')
    .option(
      '--controlplane <host:port>',
      `the control plane's snapshot service (env CL_CONTROLPLANE; default ${CONTROLPLANE_NAME}:${SNAPSHOT_PORT})`,
    )
    .option('--cert-dir <dir>', `ca.pem, cert.pem, key.pem (env CL_CERT_DIR; default ${CERT_DIR})`)
    .option('--gateway-port <port>', `gateway port (env CL_GATEWAY_PORT; default ${GATEWAY_CONTAINER_PORT})`)
    .option('--admin-port <port>', `health and metrics (env CL_ADMIN_PORT; default ${ADMIN_PORT})`)
    .option('--log-level <level>', 'log level (env CL_LOG_LEVEL)')
    .option('--limit <name=value>', LIMIT_FLAG_HELP, collect, [])
    .action(
      async (flags: {
        controlplane?: string;
        certDir?: string;
        gatewayPort?: string;
        adminPort?: string;
        logLevel?: string;
        limit: string[];
      }) => {
        const env = ctx.env;
        const level = logLevel(flags.logLevel, env);
        const logger = level ? createLogger({ level }) : undefined;
        const gatewayPort = port(
          '--gateway-port',
          flags.gatewayPort ?? env.CL_GATEWAY_PORT,
          GATEWAY_CONTAINER_PORT,
        );
        const adminPort = port('--admin-port', flags.adminPort ?? env.CL_ADMIN_PORT, ADMIN_PORT);
        const limits = parseLimits('--limit', flags.limit, env);
        const source = await connectToControlPlane({
          controlPlane: flags.controlplane ?? env.CL_CONTROLPLANE,
          certDir: flags.certDir ?? env.CL_CERT_DIR,
          logger,
        }).catch((err: unknown) => {
          throw startFailure('the data plane', err);
        });
        const dp = await runDataPlane({
          source,
          gatewayPort,
          adminPort,
          logger,
          limits,
        }).catch(async (err: unknown) => {
          await source.close();
          throw startFailure('the data plane', err);
        });
        const gw = dp.dataPlane.gatewayAddress;
        ctx.err(`data plane serving on ${hostPort(gw)}, admin on ${hostPort(dp.admin.address)}\n`);
        const signal = await waitForShutdownSignal();
        ctx.err(`${signal}: closing the data plane\n`);
        await dp.close();
        await source.close();
      },
    );
}
