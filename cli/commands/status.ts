/** `clusterlink status`: peers, exports, imports and policies of one site. */
import { Command } from 'commander';
import type { CliContext } from '../context';
import { formatStatus, OUTPUT_FORMATS, type OutputFormat } from '../status/format';
import { fetchGatewayStatus } from '../status/gateway-source';
import { kubernetesStatus } from '../status/kube-source';
import { oneOf } from '../validate';
import { DEFAULT_NAMESPACE } from '../../kernel/api/conventions';

export function statusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description(
      "show this site's peers (reachable, RTT, since when, why not), exports, imports and policies",
    )
    .option(
      '--gateway <url>',
      "read a standalone gateway's admin port (e.g. http://127.0.0.1:9090) instead of Kubernetes",
    )
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--namespace <ns>', 'the gateway namespace, where Peers live', DEFAULT_NAMESPACE)
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(
      async (flags: {
        gateway?: string;
        kubeconfig?: string;
        context?: string;
        namespace: string;
        output: string;
      }) => {
        const format = oneOf<OutputFormat>('--output', flags.output, OUTPUT_FORMATS);
        const report = flags.gateway
          ? await fetchGatewayStatus(flags.gateway)
          : await kubernetesStatus({
              kubeconfig: flags.kubeconfig ?? ctx.env.KUBECONFIG,
              context: flags.context,
              namespace: flags.namespace,
            });
        ctx.out(formatStatus(report, format));
      },
    );
}
