/**
 * The npm package as a user gets it: `npm pack` from the working tree (which compiles lib/ through
 * the `prepare` script), the tarball's file list, and `require()` of the unpacked package's main.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

jest.setTimeout(600_000);
const ROOT = path.resolve(__dirname, '../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../../package.json') as { name: string; version: string; main: string; types: string };

let work: string;
let files: string[];
let tarball: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'cl-pack-'));
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  // `prepare` prints the build's output first; the JSON report is the last thing on stdout.
  const report = JSON.parse(json.slice(json.lastIndexOf('\n[') + 1)) as [
    { filename: string; files: { path: string }[] },
  ];
  tarball = path.join(work, report[0].filename);
  files = report[0].files.map((f) => f.path).sort();
  execFileSync('tar', ['-xzf', tarball, '-C', work]);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the compiled library, the CLI, the manifests and the imports', () => {
  expect(path.basename(tarball)).toBe(`${pkg.name}-${pkg.version}.tgz`);
  expect(files).toEqual(
    expect.arrayContaining([
      'package.json',
      'README.md',
      'LICENSE',
      pkg.main,
      pkg.types,
      'lib/cli/main.js',
      'dist/clusterlink-crds.yaml',
      'dist/clusterlink-gateway.yaml',
      'imports/clusterlink.net.ts',
      'lib/imports/clusterlink.net.types.d.ts',
    ]),
  );
  expect(pkg.main).toBe('lib/constructs/index.js');
  expect(pkg.types).toBe('lib/constructs/index.d.ts');
});

test('the tarball holds no tests, no TypeScript sources outside imports/ and no local state', () => {
  const unwanted = files.filter(
    (f) =>
      /^(test|lib\/test|node_modules|cli|constructs|controller|dataplane|kernel|bench|docs|cdk\.out|coverage)\//.test(
        f,
      ) ||
      (f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('imports/')) ||
      /(^|\/)(\.env|\.npmrc|.*\.tsbuildinfo|.*\.tgz)$/.test(f),
  );
  expect(unwanted).toEqual([]);
});

test('the bin is executable by node and prints the version', () => {
  const main = path.join(work, 'package', 'lib/cli/main.js');
  expect(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  // The unpacked package resolves its dependencies from this checkout's node_modules.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'package', 'node_modules'), 'dir');
  expect(execFileSync(process.execPath, [main, '--version'], { encoding: 'utf8' })).toBe(`${pkg.version}\n`);
});

test("require() of the package's main exposes the constructs", () => {
  const dir = path.join(work, 'package');
  if (!existsSync(path.join(dir, 'node_modules'))) {
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  }
  // A separate node process: jest's module registry would load the TypeScript sources instead.
  const script = `const m = require(${JSON.stringify(dir)}); console.log(JSON.stringify(Object.keys(m).sort()))`;
  const exported = JSON.parse(
    execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }),
  ) as string[];
  expect(exported).toEqual(
    expect.arrayContaining(['ClusterLinkGateway', 'Fabric', 'Peer', 'Export', 'Import', 'AccessPolicy']),
  );
});

test('clusterlink init writes an app that installs from the tarball and synthesizes with cdk8s', () => {
  const app = path.join(work, 'app');
  const main = path.join(work, 'package', 'lib/cli/main.js');
  const init = execFileSync(process.execPath, [main, 'init', app, '--clusterlink', tarball], {
    encoding: 'utf8',
  });
  expect(init).toContain('wrote package.json, tsconfig.json, cdk8s.yaml, main.ts');
  const run = (command: string, args: string[]): string =>
    execFileSync(command, args, {
      cwd: app,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 400_000,
    });
  // Tarballs come from the npm cache (npm ci of this checkout put them there); npm still asks the
  // registry for the versions' metadata, which npm ci does not cache.
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund']);
  run('npx', ['cdk8s', 'synth', '--no-check-upgrade']);
  const synthesized = ['crds.k8s.yaml', 'gateway.k8s.yaml', 'shop-east.k8s.yaml', 'shop-west.k8s.yaml'];
  for (const file of synthesized) expect(existsSync(path.join(app, 'dist', file))).toBe(true);
  expect(readFileSync(path.join(app, 'dist', 'gateway.k8s.yaml'), 'utf8')).toContain(
    `image: ghcr.io/clusterlink-ts/clusterlink:${pkg.version}`,
  );
  run('npx', ['cdk8s', 'synth', '--no-check-upgrade', '-o', 'out']);
  for (const file of synthesized) expect(existsSync(path.join(app, 'out', file))).toBe(true);
});
