/**
 * The cdk8s app behind `npm run synth`: writes the install YAML we ship to dist/, or to the
 * output folder the cdk8s CLI hands over (`cdk8s synth -o <dir>`, `output:` in cdk8s.yaml; the CLI
 * passes either as CDK8S_OUTDIR).
 * - clusterlink-crds.yaml: the CustomResourceDefinitions (apply first).
 * - clusterlink-gateway.yaml: a gateway in clusterlink-system using the Secrets cl-fabric and
 *   cl-peer (`clusterlink create fabric` / `create peer-cert` make their content).
 * - example-fabric-east.yaml, example-fabric-west.yaml: two sites sharing two services.
 */
import { App, Chart, YamlOutputType } from 'cdk8s';
import { ClusterLinkCrds } from './crds';
import { Fabric } from './fabric';
import { ClusterLinkGateway } from './gateway';

/** `outdir` defaults to the folder the cdk8s CLI names in CDK8S_OUTDIR, else dist/. */
export function buildApp(outdir: string = process.env.CDK8S_OUTDIR || 'dist'): App {
  const app = new App({
    outdir,
    outputFileExtension: '.yaml',
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
  });
  // CRDs and the gateway's ClusterRole are cluster-scoped: their charts have no namespace.
  new ClusterLinkCrds(new Chart(app, 'clusterlink-crds'), 'crds');
  new ClusterLinkGateway(
    new Chart(app, 'clusterlink-gateway', { disableResourceNameHashes: true }),
    'gateway',
  );
  new Fabric(app, 'example-fabric', {
    sites: [
      { name: 'east', gateway: '192.0.2.10:443', labels: { region: 'us-east' } },
      { name: 'west', gateway: '198.51.100.20:443', labels: { region: 'us-west' } },
    ],
    services: [
      {
        name: 'reviews',
        port: 9080,
        exportedBy: 'east',
        importedBy: ['west'],
        allowedClients: { labels: { app: 'productpage' } },
      },
      { name: 'details', port: 9080, exportedBy: 'west' },
    ],
  });
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
