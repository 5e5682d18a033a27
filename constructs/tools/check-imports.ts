/**
 * `npm run check:imports`: proves that the committed dist/ (the output of `npm run synth`) and
 * imports/ (generated from dist/clusterlink-crds.yaml) are what the code in constructs/ produces
 * today. Regenerates both into a temporary folder and fails on any difference.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../app';
import { CRD_FILE_NAME, IMPORT_FILES, REPO_ROOT, generateImports } from './imports';

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
    const dist = join(work, 'dist');
    buildApp(dist).synth();
    generateImports(join(dist, CRD_FILE_NAME), join(work, 'imports'));
    const distFiles = [...new Set([...readdirSync(dist), ...readdirSync(join(REPO_ROOT, 'dist'))])].sort();
    const pairs: [string, string][] = [
      ...distFiles.map((f): [string, string] => [join('dist', f), join(dist, f)]),
      ...IMPORT_FILES.map((f): [string, string] => [join('imports', f), join(work, 'imports', f)]),
    ];
    const stale = pairs.filter(([committed, fresh]) => read(join(REPO_ROOT, committed)) !== read(fresh));
    for (const [committed] of stale)
      console.error(`${committed} is out of date with the code in constructs/.`);
    if (stale.length > 0) {
      console.error('Run `npm run synth && npm run import` and commit the result.');
      return 1;
    }
    console.log('dist/ and imports/ are up to date.');
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = main();
