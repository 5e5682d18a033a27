/** `clusterlink demo` (also `npm run demo`). */
import { Command } from 'commander';
import * as net from 'node:net';
import * as path from 'node:path';
import { usageError } from '../errors';
import type { CliContext } from '../context';
import { runDemo } from '../demo/demo';
import type { GatewayCommand } from '../demo/gateway-process';
import { parsePositiveInt } from '../validate';

/** Runs this same CLI again for each gateway: the compiled main.js next to this module's parent. */
function selfCommand(): GatewayCommand {
  const main = path.resolve(__dirname, '..', 'main.js');
  const viaTs = __filename.endsWith('.ts');
  return viaTs
    ? {
        command: process.execPath,
        args: ['-r', 'ts-node/register/transpile-only', path.resolve(__dirname, '..', 'main.ts')],
      }
    : { command: process.execPath, args: [main] };
}

export function demoCommand(ctx: CliContext): Command {
  return new Command('demo')
    .description(
      'three standalone gateways on loopback addresses: tunnel, round-robin, deny policy, failover, reachability',
    )
    .option(
      '--addresses <a,b,c>',
      'addresses of the client, east and west sites',
      '127.0.0.1,127.0.0.2,127.0.0.3',
    )
    .option('--keep', 'keep the working directory (configuration and gateway logs)')
    .option('--heartbeat-interval <ms>', 'heartbeat interval of the demo gateways', '250')
    .option('--step-timeout <ms>', 'time limit of each step', '60000')
    .action(
      async (flags: {
        addresses: string;
        keep?: boolean;
        heartbeatInterval: string;
        stepTimeout: string;
      }) => {
        const hosts = flags.addresses.split(',').map((a) => a.trim());
        if (hosts.length !== 3 || hosts.some((h) => net.isIP(h) === 0)) {
          throw usageError(`--addresses "${flags.addresses}" must be three IP addresses separated by commas`);
        }
        const controller = new AbortController();
        const onSignal = () => controller.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          await runDemo(ctx, {
            gatewayCommand: selfCommand(),
            hosts: hosts as [string, string, string],
            keep: flags.keep,
            heartbeatMs: parsePositiveInt('--heartbeat-interval', flags.heartbeatInterval, 60_000),
            stepTimeoutMs: parsePositiveInt('--step-timeout', flags.stepTimeout, 3_600_000),
            signal: controller.signal,
          });
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      },
    );
}
