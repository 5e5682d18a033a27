/**
 * The construct example in docs/constructs.md (and in README.md, once it carries it) is real code:
 * it is type-checked against the library and run, and what it synthesizes is checked.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ts from 'typescript';
import * as library from '../../../constructs';

const repoRoot = resolve(__dirname, '..', '..', '..');
const MARKER = '<!-- compiled-example';

/** The ```ts blocks right after a compiled-example marker. */
function examples(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  let at = text.indexOf(MARKER);
  while (at >= 0) {
    const block = /```ts\n([\s\S]*?)```/.exec(text.slice(at));
    if (block) found.push(block[1]);
    at = text.indexOf(MARKER, at + MARKER.length);
  }
  return found;
}

/** Type errors of `code` compiled as a module of this repository ('clusterlink' = constructs/). */
function typeErrors(code: string): string[] {
  const fileName = join(repoRoot, 'test', 'unit', 'constructs', '__docs_example__.ts');
  const source = code.replace(/from 'clusterlink'/g, "from '../../../constructs'");
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(repoRoot, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => undefined,
    },
  );
  const options = { ...parsed!.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, source, languageVersion)
      : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === fileName)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

/** Runs `code` with 'clusterlink' resolved to constructs/, writing into a temporary outdir. */
function run(code: string, outdir: string): void {
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  // jest's own require, so that the example shares the module instances (cdk8s) of the library.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = (name: string): unknown => (name === 'clusterlink' ? library : require(name));
  const previous = process.env.CDK8S_OUTDIR;
  process.env.CDK8S_OUTDIR = outdir;
  try {
    new Function('require', 'module', 'exports', js)(load, { exports: {} }, {});
  } finally {
    if (previous === undefined) delete process.env.CDK8S_OUTDIR;
    else process.env.CDK8S_OUTDIR = previous;
  }
}

const blocks = [
  ...examples(join(repoRoot, 'docs', 'constructs.md')).map((code) => ['docs/constructs.md', code]),
  ...examples(join(repoRoot, 'README.md')).map((code) => ['README.md', code]),
];

describe('documented construct example', () => {
  test('docs/constructs.md carries one', () => {
    expect(blocks.filter(([file]) => file === 'docs/constructs.md')).toHaveLength(1);
  });

  test.each(blocks)(
    '%s: type-checks',
    (_file, code) => {
      expect(typeErrors(code)).toEqual([]);
    },
    60_000,
  );

  test.each(blocks)('%s: synthesizes the CRDs, a gateway and one chart per site', (_file, code) => {
    const outdir = mkdtempSync(join(tmpdir(), 'cl-docs-example-'));
    try {
      run(code, outdir);
      const files = readdirSync(outdir).sort();
      expect(files).toEqual([
        'crds.k8s.yaml',
        'gateway.k8s.yaml',
        'shop-east.k8s.yaml',
        'shop-west.k8s.yaml',
      ]);
      const west = readFileSync(join(outdir, 'shop-west.k8s.yaml'), 'utf8');
      expect(west).toContain('kind: Import');
      expect(west).toContain('peer: east');
      expect(readFileSync(join(outdir, 'shop-east.k8s.yaml'), 'utf8')).toContain('kind: Export');
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
