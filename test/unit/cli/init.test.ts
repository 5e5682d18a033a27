import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { STARTER_VERSIONS, starterFiles } from '../../../cli/commands/init';
import { cli, tempDir } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../../../package.json') as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

test('the starter app uses the tool versions this package is built and tested with', () => {
  const ours = { ...pkg.dependencies, ...pkg.devDependencies };
  for (const [name, version] of Object.entries(STARTER_VERSIONS))
    expect([name, ours[name]]).toEqual([name, version]);
  // TypeScript 7 (the native compiler) cannot be loaded by ts-node.
  expect(STARTER_VERSIONS.typescript.startsWith('5.')).toBe(true);
});

test('init writes package.json, tsconfig.json, cdk8s.yaml and main.ts', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const app = path.join(dir, 'my-app');
    const result = await cli(['init', app]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('npm install && npx cdk8s synth --no-check-upgrade');
    for (const file of Object.keys(starterFiles({ name: 'x', clusterlink: 'x' }))) {
      expect(existsSync(path.join(app, file))).toBe(true);
    }
    const written = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8')) as {
      name: string;
      dependencies: Record<string, string>;
    };
    expect(written.name).toBe('my-app');
    expect(written.dependencies.clusterlink).toBe(`^${pkg.version}`);
    expect(readFileSync(path.join(app, 'cdk8s.yaml'), 'utf8')).toContain('app: npx ts-node main.ts');
  } finally {
    cleanup();
  }
});

test('init writes a tarball path as file:<absolute path>', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const result = await cli(['init', dir, '--clusterlink', 'clusterlink-0.1.0.tgz']);
    expect(result.code).toBe(0);
    const written = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(written.dependencies.clusterlink).toBe(`file:${path.resolve('clusterlink-0.1.0.tgz')}`);
  } finally {
    cleanup();
  }
});

test('init refuses a directory that already has one of its files', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(path.join(dir, 'main.ts'), '// mine\n');
    const result = await cli(['init', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('already has main.ts');
    expect(readFileSync(path.join(dir, 'main.ts'), 'utf8')).toBe('// mine\n');
  } finally {
    cleanup();
  }
});
