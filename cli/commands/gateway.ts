/** `clusterlink gateway --config DIR`: the standalone gateway (control plane + data plane, no Kubernetes). */
import { Command } from 'commander';
import { promises as fs } from 'node:fs';
import { createLogger, logLevelFromEnvironment } from '../../kernel/log';
import { StandaloneGateway } from '../../controller/standalone/gateway';
import { heartbeatPeerMonitor } from '../../controller/peer-monitor';
import { CliError, usageError } from '../errors';
import type { CliContext } from '../context';
import { checkLogLevel, collect, parseLabels, parsePort, parsePositiveInt } from '../validate';
import { LIMIT_FLAG_HELP, parseLimits } from '../limits';
import { waitForShutdownSignal } from '../signals';
import { ADMIN_PORT, GATEWAY_CONTAINER_PORT, LOG_LEVELS, LOG_LEVEL_ENV } from '../../kernel/api/conventions';

interface GatewayFlags {
  config: string;
  listenHost: string;
  gatewayHost?: string;
  gatewayPort?: string;
  adminHost: string;
  adminPort?: string;
  ca?: string;
  cert?: string;
  key?: string;
  peerLabel: string[];
  heartbeatInterval?: string;
  logLevel?: string;
  limit: string[];
}

export function gatewayCommand(ctx: CliContext): Command {
  return new Command('gateway')
    .description(
      'run a standalone gateway (control plane and data plane in one process) configured by a directory of YAML files',
    )
    .requiredOption(
      '--config <dir>',
      'directory of Peer/Export/Import/AccessPolicy YAML files and certificates (watched)',
    )
    .option('--listen-host <host>', 'address Import listeners bind to', '127.0.0.1')
    .option('--gateway-host <host>', 'address of the gateway port (default: all interfaces)')
    .option(
      '--gateway-port <port>',
      `gateway port for other peers (env CL_GATEWAY_PORT; default ${GATEWAY_CONTAINER_PORT})`,
    )
    .option('--admin-host <host>', 'address of the admin port', '127.0.0.1')
    .option(
      '--admin-port <port>',
      `admin port: /status, /metrics, /healthz, /readyz (env CL_ADMIN_PORT; default ${ADMIN_PORT})`,
    )
    .option('--ca <file>', 'fabric CA certificate (default: <config>/ca.pem)')
    .option('--cert <file>', "this peer's certificate (default: <config>/cert.pem)")
    .option('--key <file>', "this peer's private key (default: <config>/key.pem)")
    .option(
      '--peer-label <k=v>',
      'a label of this peer, repeatable (env CL_PEER_LABELS "k=v,k2=v2")',
      collect,
      [],
    )
    .option(
      '--heartbeat-interval <ms>',
      'heartbeat interval in milliseconds, reachable and unreachable alike (default 1000 / 10000)',
    )
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')} (env ${LOG_LEVEL_ENV})`)
    .option('--limit <name=value>', LIMIT_FLAG_HELP, collect, [])
    .action(async (flags: GatewayFlags) => {
      const options = await gatewayOptions(flags, ctx.env);
      const gateway = await StandaloneGateway.start(options).catch((err: Error & { code?: string }) => {
        if (err.code === 'EADDRINUSE') {
          throw new CliError(
            'CL_ERR_UNAVAILABLE',
            `${err.message}: choose another --gateway-port or --admin-port`,
            { cause: err },
          );
        }
        if (err.code === 'CL_ERR_BAD_CERTIFICATE')
          throw new CliError('CL_ERR_BAD_CERTIFICATE', err.message, { cause: err });
        throw err;
      });
      const gw = gateway.gatewayAddress;
      const admin = gateway.adminAddress;
      ctx.err(
        `gateway "${gateway.peerName}" serving peers on ${gw.host}:${gw.port}; status at http://${admin.host}:${admin.port}/status; watching ${flags.config}\n`,
      );
      const signal = await waitForShutdownSignal();
      ctx.err(`${signal}: closing gateway "${gateway.peerName}"\n`);
      await gateway.close();
    });
}

export async function gatewayOptions(flags: GatewayFlags, env: NodeJS.ProcessEnv) {
  const stat = await fs.stat(flags.config).catch(() => undefined);
  if (!stat?.isDirectory()) throw usageError(`--config "${flags.config}" is not a directory`);
  const gatewayPort = flags.gatewayPort ?? env.CL_GATEWAY_PORT;
  const adminPort = flags.adminPort ?? env.CL_ADMIN_PORT;
  const labels = parseLabels('--peer-label', [
    ...(env.CL_PEER_LABELS ? [env.CL_PEER_LABELS] : []),
    ...flags.peerLabel,
  ]);
  const interval = flags.heartbeatInterval
    ? parsePositiveInt('--heartbeat-interval', flags.heartbeatInterval, 600_000)
    : undefined;
  const level = checkLogLevel(flags.logLevel ?? logLevelFromEnvironment(env));
  return {
    configDir: flags.config,
    listenHost: flags.listenHost,
    gatewayHost: flags.gatewayHost,
    gatewayPort:
      gatewayPort !== undefined
        ? parsePort('--gateway-port', gatewayPort, { allowZero: true })
        : GATEWAY_CONTAINER_PORT,
    adminHost: flags.adminHost,
    adminPort:
      adminPort !== undefined ? parsePort('--admin-port', adminPort, { allowZero: true }) : ADMIN_PORT,
    certificates: { ca: flags.ca, cert: flags.cert, key: flags.key },
    peerLabels: labels,
    limits: parseLimits('--limit', flags.limit ?? [], env),
    logger: level ? createLogger({ level }) : undefined,
    health: interval
      ? heartbeatPeerMonitor({ policy: { reachableIntervalMs: interval, unreachableIntervalMs: interval } })
      : undefined,
  };
}
