/**
 * The cdk8s app behind `npm run synth`: writes the install YAML we ship to dist/.
 */
import { App, Chart, YamlOutputType } from 'cdk8s';
import { ClusterLinkCrds } from './crds';

export function buildApp(outdir = 'dist'): App {
  const app = new App({
    outdir,
    outputFileExtension: '.yaml',
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
  });
  // CRDs are cluster-scoped: their chart has no namespace.
  new ClusterLinkCrds(new Chart(app, 'clusterlink-crds'), 'crds');
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
