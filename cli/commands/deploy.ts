/** `clusterlink deploy peer` and `clusterlink delete peer`: a site's gateway in Kubernetes. */
import { Command } from 'commander';
import { X509Certificate } from 'node:crypto';
import { stringify } from 'yaml';
import { DEFAULT_IMAGE, LOG_LEVELS, type GatewayServiceType, type LogLevel } from '../../constructs';
import { peerNameOfCertificate } from '../../kernel/identity';
import type { CliContext } from '../context';
import { CliError } from '../errors';
import { applyOrder, siteManifests, type KubeManifest } from '../deploy/manifests';
import { deleteObjects, serverSideApply, waitForRollout } from '../deploy/apply';
import { loadKubeConfig } from '../kube';
import { DEFAULT_FABRIC, fabricDirectory, peerDirectory, readCertificatePair } from '../pki/layout';
import { Progress } from '../progress';
import { collect, oneOf, parseLabels, parsePort, parsePositiveInt, requireDnsLabel } from '../validate';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CONTROLPLANE_NAME, DATAPLANE_NAME, DEFAULT_NAMESPACE } from '../../kernel/api/conventions';

const INGRESS_TYPES: readonly GatewayServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer'];
const DEPLOYMENTS = [CONTROLPLANE_NAME, DATAPLANE_NAME];

interface DeployFlags {
  name: string;
  fabric: string;
  path: string;
  namespace: string;
  ingress: string;
  ingressPort?: string;
  label: string[];
  dataplaneReplicas: string;
  image?: string;
  logLevel: string;
  apply?: boolean;
  kubeconfig?: string;
  context?: string;
  wait: boolean;
  timeout: string;
}

async function readSiteCertificates(flags: DeployFlags): Promise<{ ca: string; cert: string; key: string }> {
  const fabricDir = fabricDirectory(flags.fabric, flags.path);
  const caFile = path.join(fabricDir, 'cert.pem');
  let ca: string;
  try {
    ca = await fs.readFile(caFile, 'utf8');
  } catch {
    throw new CliError(
      'CL_ERR_NOT_FOUND',
      `cannot read the fabric CA ${caFile}: create it with \`clusterlink create fabric --name ${flags.fabric} --path ${flags.path}\` (or set --fabric/--path)`,
    );
  }
  const peer = await readCertificatePair(
    peerDirectory(flags.name, flags.fabric, flags.path),
    `certificate of peer "${flags.name}"`,
    `create it with: clusterlink create peer-cert --name ${flags.name} --fabric ${flags.fabric} --path ${flags.path}`,
  );
  const caCert = new X509Certificate(ca);
  const cert = new X509Certificate(peer.cert);
  if (!cert.verify(caCert.publicKey)) {
    throw new CliError(
      'CL_ERR_BAD_CERTIFICATE',
      `the certificate of peer "${flags.name}" is not signed by the fabric CA ${caFile}`,
    );
  }
  const named = peerNameOfCertificate(cert);
  if (named === undefined) {
    // The peer name is the first DNS SAN; the subject's CN does not count (DESIGN.md section 5).
    throw new CliError(
      'CL_ERR_BAD_CERTIFICATE',
      `the certificate in ${peerDirectory(flags.name, flags.fabric, flags.path)} has no DNS subject alternative name, so it names no peer (the CN does not count); create it with: clusterlink create peer-cert --name ${flags.name}`,
    );
  }
  if (named !== flags.name) {
    throw new CliError(
      'CL_ERR_BAD_CERTIFICATE',
      `the certificate in ${peerDirectory(flags.name, flags.fabric, flags.path)} names peer "${named}", not "${flags.name}"`,
    );
  }
  // Only the CA certificate goes to the cluster: the fabric key stays where it is.
  return { ca, cert: peer.cert, key: peer.key };
}

export function deployCommand(ctx: CliContext): Command {
  const deploy = new Command('deploy').description('deploy ClusterLink into Kubernetes');
  deploy
    .command('peer')
    .description(
      "print (or --apply) a site's CRDs, gateway and certificate Secrets, built with the construct library",
    )
    .requiredOption('--name <name>', 'peer name (its certificate must exist: clusterlink create peer-cert)')
    .option('--fabric <name>', 'fabric name', DEFAULT_FABRIC)
    .option('--path <dir>', 'directory holding the fabric and peer certificates', '.')
    .option('--namespace <ns>', 'namespace of the gateway', DEFAULT_NAMESPACE)
    .option('--ingress <type>', 'gateway Service type: ClusterIP, NodePort or LoadBalancer', 'LoadBalancer')
    .option(
      '--ingress-port <port>',
      'gateway Service port (default 443); for NodePort the node port (30000-32767)',
    )
    .option('--label <k=v>', 'a label of this peer (matched by remote policies), repeatable', collect, [])
    .option('--dataplane-replicas <n>', 'data-plane replicas', '1')
    .option(
      '--image <image>',
      `container image of both gateway processes (default ${DEFAULT_IMAGE}; to build and push your own, see the README)`,
    )
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .option(
      '--apply',
      'apply to the cluster of the current kubeconfig (server-side apply) instead of printing',
    )
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--no-wait', 'with --apply: do not wait for the Deployments to roll out')
    .option('--timeout <seconds>', 'with --apply: how long to wait for the rollout', '300')
    .action(async (flags: DeployFlags) => {
      requireDnsLabel('--name', flags.name);
      const ingress = oneOf('--ingress', flags.ingress, INGRESS_TYPES);
      const ingressPort =
        flags.ingressPort !== undefined ? parsePort('--ingress-port', flags.ingressPort) : undefined;
      if (
        ingressPort !== undefined &&
        ingress === 'NodePort' &&
        (ingressPort < 30000 || ingressPort > 32767)
      ) {
        throw new CliError(
          'CL_ERR_USAGE',
          `--ingress-port ${ingressPort} with --ingress NodePort is the node port: use 30000-32767`,
        );
      }
      const logLevel = oneOf<LogLevel>('--log-level', flags.logLevel, LOG_LEVELS);
      const timeoutMs = parsePositiveInt('--timeout', flags.timeout, 86_400) * 1000;
      const objects = applyOrder(
        siteManifests({
          namespace: requireDnsLabel('--namespace', flags.namespace),
          ingress,
          ingressPort,
          peerLabels: parseLabels('--label', flags.label),
          dataplaneReplicas: parsePositiveInt('--dataplane-replicas', flags.dataplaneReplicas, 100),
          image: flags.image,
          logLevel,
          certificates: await readSiteCertificates(flags),
        }),
      );
      if (!flags.apply) {
        ctx.out(objects.map((o) => stringify(o)).join('---\n'));
        return;
      }
      const kc = loadKubeConfig({
        kubeconfig: flags.kubeconfig ?? ctx.env.KUBECONFIG,
        context: flags.context,
      });
      const progress = new Progress(ctx);
      await progress.step(
        `Apply ${objects.length} objects of peer "${flags.name}" to ${kc.getCurrentCluster()?.server}`,
        async (update) => {
          await serverSideApply(kc, objects, (what, i) => update(`${i + 1}/${objects.length} ${what}`));
          update(`${objects.length} objects applied (field manager "clusterlink")`);
        },
      );
      if (flags.wait) {
        await progress.step(`Wait for ${DEPLOYMENTS.join(' and ')} to roll out`, async (update) => {
          await waitForRollout(kc, flags.namespace, DEPLOYMENTS, timeoutMs, (states) =>
            update(states.map((s) => `${s.name} ${s.available}/${s.desired} available`).join(', ')),
          );
        });
      }
      ctx.out(`peer "${flags.name}" deployed in namespace ${flags.namespace}; next: clusterlink status\n`);
    });
  return deploy;
}

/** Placeholder PEMs: deletion needs only the objects' names, not the secrets' contents. */
const NAMES_ONLY = {
  ca: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
  cert: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
  key: '-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n',
};

export function deleteCommand(ctx: CliContext): Command {
  const del = new Command('delete').description('remove ClusterLink from Kubernetes');
  del
    .command('peer')
    .description('delete what `clusterlink deploy peer` created (the CRDs only with --delete-crds)')
    .requiredOption('--name <name>', 'peer name')
    .option('--namespace <ns>', 'namespace of the gateway', DEFAULT_NAMESPACE)
    .option(
      '--delete-crds',
      'also delete the CRDs, and with them every Peer, Export, Import and policy in the cluster',
    )
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .action(
      async (flags: {
        name: string;
        namespace: string;
        deleteCrds?: boolean;
        kubeconfig?: string;
        context?: string;
      }) => {
        requireDnsLabel('--name', flags.name);
        requireDnsLabel('--namespace', flags.namespace);
        const objects: KubeManifest[] = applyOrder(
          siteManifests({
            namespace: flags.namespace,
            ingress: 'LoadBalancer',
            peerLabels: {},
            dataplaneReplicas: 1,
            logLevel: 'info',
            certificates: NAMES_ONLY,
          }),
        ).filter((o) => flags.deleteCrds || o.kind !== 'CustomResourceDefinition');
        const kc = loadKubeConfig({
          kubeconfig: flags.kubeconfig ?? ctx.env.KUBECONFIG,
          context: flags.context,
        });
        const progress = new Progress(ctx);
        const deleted = await progress.step(
          `Delete peer "${flags.name}" from ${kc.getCurrentCluster()?.server}`,
          async (update) => {
            const n = await deleteObjects(kc, objects, (what) => update(what));
            update(`${n} of ${objects.length} objects deleted (the others were already gone)`);
            return n;
          },
        );
        ctx.out(
          `peer "${flags.name}" removed from namespace ${flags.namespace} (${deleted} objects)${flags.deleteCrds ? ', CRDs included' : '; CRDs kept (--delete-crds to remove them)'}\n`,
        );
      },
    );
  return del;
}
