/** `clusterlink policy explain`: which policy allows or denies an Import's connections, at which end. */
import { Command } from 'commander';
import { stringify } from 'yaml';
import type { StatusReport } from '../../controller/standalone/report';
import type { CliContext } from '../context';
import { CliError, usageError } from '../errors';
import { explainImport, ExplainError, formatExplanation } from '../policy/explain';
import { directoryStatus } from '../status/dir-source';
import { fetchGatewayStatus } from '../status/gateway-source';
import { kubernetesStatus } from '../status/kube-source';
import { collect, oneOf, parseLabels } from '../validate';
import { OUTPUT_FORMATS, type OutputFormat } from '../status/format';
import { DEFAULT_NAMESPACE } from '../../kernel/api/conventions';

interface ExplainFlags {
  import: string;
  namespace: string;
  gateway?: string;
  config?: string;
  kubeconfig?: string;
  context?: string;
  gatewayNamespace: string;
  clientNamespace?: string;
  clientServiceAccount: string;
  clientLabel: string[];
  sourcePeer: string[];
  exporter: string[];
  peerLabel: string[];
  output: string;
}

/** A site's status from a URL (standalone admin port) or a directory (standalone configuration). */
async function siteStatus(location: string, flag: string): Promise<StatusReport> {
  if (/^https?:\/\//i.test(location)) return fetchGatewayStatus(location);
  if (location.includes('/') || location.startsWith('.')) return directoryStatus(location);
  throw usageError(
    `${flag} "${location}" must be an admin URL (http://host:port) or a configuration directory`,
  );
}

export function policyCommand(ctx: CliContext): Command {
  const policy = new Command('policy').description('inspect access policies');
  policy
    .command('explain')
    .description(
      'say which policy allows or denies connections through an Import, at the importing end (egress) and the exporting end (ingress)',
    )
    .requiredOption('--import <name>', 'the Import')
    .option('--namespace <ns>', 'namespace of the Import', 'default')
    .option('--gateway <url>', 'the importing site is a standalone gateway: its admin URL')
    .option('--config <dir>', 'the importing site is a standalone configuration directory')
    .option(
      '--kubeconfig <file>',
      'the importing site is this Kubernetes cluster (default kubeconfig otherwise)',
    )
    .option('--context <name>', 'kubeconfig context')
    .option('--gateway-namespace <ns>', 'namespace of the gateway in Kubernetes', DEFAULT_NAMESPACE)
    .option('--client-namespace <ns>', "the client workload's namespace (omit: unidentified client)")
    .option('--client-service-account <sa>', "the client workload's service account", 'default')
    .option('--client-label <k=v>', 'a label of the client workload, repeatable', collect, [])
    .option('--source-peer <peer>', 'only this source peer, repeatable', collect, [])
    .option(
      '--exporter <peer=location>',
      "where to read an exporting peer's policies: admin URL or directory, repeatable",
      collect,
      [],
    )
    .option(
      '--peer-label <k=v>',
      'labels of the importing peer when reading a --config directory',
      collect,
      [],
    )
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (flags: ExplainFlags) => {
      const format = oneOf<OutputFormat>('--output', flags.output, OUTPUT_FORMATS);
      if (flags.gateway && flags.config) throw usageError('give either --gateway or --config, not both');
      if (
        !flags.clientNamespace &&
        (flags.clientLabel.length > 0 || flags.clientServiceAccount !== 'default')
      ) {
        throw usageError('--client-label and --client-service-account need --client-namespace');
      }
      const exporters = new Map<string, StatusReport>();
      for (const item of flags.exporter) {
        const eq = item.indexOf('=');
        if (eq <= 0) throw usageError(`--exporter "${item}" must have the form peer=URL or peer=DIR`);
        exporters.set(item.slice(0, eq), await siteStatus(item.slice(eq + 1), '--exporter'));
      }
      const importer = flags.gateway
        ? await fetchGatewayStatus(flags.gateway)
        : flags.config
          ? await directoryStatus(flags.config, parseLabels('--peer-label', flags.peerLabel))
          : await kubernetesStatus({
              kubeconfig: flags.kubeconfig ?? ctx.env.KUBECONFIG,
              context: flags.context,
              namespace: flags.gatewayNamespace,
            });
      let explanation;
      try {
        explanation = explainImport({
          importer,
          importName: flags.import,
          importNamespace: flags.namespace,
          client: flags.clientNamespace
            ? {
                namespace: flags.clientNamespace,
                serviceAccount: flags.clientServiceAccount,
                labels: parseLabels('--client-label', flags.clientLabel),
              }
            : undefined,
          sourcePeers: flags.sourcePeer,
          exporters,
        });
      } catch (err) {
        if (err instanceof ExplainError) throw new CliError('CL_ERR_NOT_FOUND', err.message);
        throw err;
      }
      if (format === 'json') ctx.out(JSON.stringify(explanation, null, 2) + '\n');
      else if (format === 'yaml') ctx.out(stringify(explanation));
      else ctx.out(formatExplanation(explanation));
    });
  return policy;
}
