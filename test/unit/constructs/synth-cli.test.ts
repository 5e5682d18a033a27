/**
 * The real `cdk8s synth` writes where it is told: the CLI hands the output folder to the app in
 * CDK8S_OUTDIR and then checks that the app created it, so an app with a fixed outdir fails there.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

describe('cdk8s synth -o', () => {
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'cl-synth-cli-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  test('writes the same files as the committed dist/ into the folder given', () => {
    const out = join(work, 'out');
    const env = { ...process.env };
    delete env.CDK8S_OUTDIR;
    execFileSync('npx', ['cdk8s', 'synth', '--no-check-upgrade', '-o', out], {
      cwd: root,
      env,
      stdio: 'pipe',
    });
    const committed = readdirSync(join(root, 'dist')).sort();
    expect(readdirSync(out).sort()).toEqual(committed);
    for (const file of committed)
      expect(readFileSync(join(out, file), 'utf8')).toBe(readFileSync(join(root, 'dist', file), 'utf8'));
  }, 180_000);
});
