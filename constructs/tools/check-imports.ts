/**
 * `npm run check:imports`: proves dist/clusterlink-crds.yaml and imports/ are what the schema code in
 * constructs/ produces today. Regenerates both into a temporary folder and fails on any difference.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRD_FILE_NAME, IMPORT_FILES, REPO_ROOT, generateImports, synthCrds } from './imports';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function main(): number {
  const work = mkdtempSync(join(tmpdir(), 'cl-check-imports-'));
  try {
    const crdFile = synthCrds(join(work, 'dist'));
    generateImports(crdFile, join(work, 'imports'));
    const pairs: [string, string][] = [
      [join('dist', CRD_FILE_NAME), crdFile],
      ...IMPORT_FILES.map((f): [string, string] => [join('imports', f), join(work, 'imports', f)]),
    ];
    const stale = pairs.filter(([committed, fresh]) => read(join(REPO_ROOT, committed)) !== read(fresh));
    for (const [committed] of stale) {
      console.error(`${committed} is out of date with the schema code in constructs/crds/.`);
    }
    if (stale.length > 0) {
      console.error('Run `npm run import` and commit the result.');
      return 1;
    }
    console.log(`dist/${CRD_FILE_NAME} and imports/ are up to date.`);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = main();
