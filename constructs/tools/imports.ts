/**
 * The imports/ pipeline: synthesize the CRDs from the schema code, run `cdk8s import` on them and
 * generate the plain spec/status types. `npm run import` writes into the repository;
 * `npm run check:imports` writes into a temporary folder and compares.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Chart, YamlOutputType } from 'cdk8s';
import { ClusterLinkCrds } from '../crds';
import { generateTypes } from './generate-types';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const CRD_FILE_NAME = 'clusterlink-crds.yaml';
export const IMPORT_FILES = ['clusterlink.net.ts', 'clusterlink.net.types.ts'] as const;

/** Synthesizes only the CRD chart into `outdir`; returns the path of the YAML file. */
export function synthCrds(outdir: string): string {
  const app = new App({
    outdir,
    outputFileExtension: '.yaml',
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
  });
  new ClusterLinkCrds(new Chart(app, 'clusterlink-crds'), 'crds');
  app.synth();
  return join(outdir, CRD_FILE_NAME);
}

/** Writes imports/ files for `crdFile` into `outdir`. */
export function generateImports(crdFile: string, outdir: string): void {
  const cli = join(REPO_ROOT, 'node_modules', '.bin', 'cdk8s');
  // The CRD file is copied next to the output so the generated code never names a temp path.
  const work = mkdtempSync(join(tmpdir(), 'cl-import-'));
  try {
    writeFileSync(join(work, CRD_FILE_NAME), readFileSync(crdFile));
    execFileSync(
      cli,
      ['import', '--no-check-upgrade', '--language', 'typescript', '--output', outdir, CRD_FILE_NAME],
      {
        cwd: work,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(join(outdir, 'clusterlink.net.types.ts'), generateTypes(crdFile));
}

if (require.main === module) {
  const crdFile = synthCrds(join(REPO_ROOT, 'dist'));
  generateImports(crdFile, join(REPO_ROOT, 'imports'));
  console.log(`imports/ regenerated from ${CRD_FILE_NAME}`);
}
