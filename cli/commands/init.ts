/**
 * `clusterlink init [dir]`: a cdk8s app that uses the construct library, with tool versions that
 * work together (TypeScript 7 is the native compiler, which ts-node cannot load).
 */
import { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CLUSTERLINK_VERSION } from '../../kernel/api/conventions';
import type { CliContext } from '../context';
import { usageError } from '../errors';

/** The app's tool versions: the ones this package is built and tested with (a unit test keeps them in step). */
export const STARTER_VERSIONS = {
  cdk8s: '2.70.106',
  constructs: '10.8.1',
  'cdk8s-cli': '2.207.60',
  typescript: '5.9.3',
  'ts-node': '10.9.2',
  '@types/node': '20.19.43',
} as const;

export interface InitOptions {
  readonly directory: string;
  /** What npm installs as `clusterlink`: a version range, a tarball path or URL. */
  readonly clusterlink: string;
  readonly name: string;
}

const MAIN_TS = `import { App, Chart } from 'cdk8s';
import { ClusterLinkCrds, ClusterLinkGateway, Fabric } from 'clusterlink';

const app = new App();

// In every cluster: the CRDs and a gateway. Its certificates come from the Secrets cl-fabric and
// cl-peer (clusterlink create fabric; clusterlink create peer-cert --name <site>; or the
// certificates prop). Set image to the image you built and pushed (see the clusterlink README).
new ClusterLinkCrds(new Chart(app, 'crds'), 'crds');
new ClusterLinkGateway(new Chart(app, 'gateway'), 'gateway', {
  service: { type: 'NodePort', nodePort: 30443 },
});

// Across clusters: which site exports a service, which sites import it, who may call it.
new Fabric(app, 'shop', {
  sites: [
    { name: 'east', gateway: '192.0.2.10:30443', labels: { region: 'us-east' } },
    { name: 'west', gateway: '198.51.100.20:30443', labels: { region: 'us-west' } },
  ],
  services: [
    {
      name: 'reviews',
      port: 9080,
      exportedBy: 'east',
      importedBy: ['west'],
      allowedClients: { labels: { app: 'productpage' } },
    },
  ],
});

app.synth();
`;

/** The files of the app, by relative path. Pure: tests and `init` share it. */
export function starterFiles(options: Omit<InitOptions, 'directory'>): Record<string, string> {
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'package.json': json({
      name: options.name,
      version: '0.0.0',
      private: true,
      scripts: { synth: 'cdk8s synth --no-check-upgrade' },
      dependencies: {
        clusterlink: options.clusterlink,
        cdk8s: STARTER_VERSIONS.cdk8s,
        constructs: STARTER_VERSIONS.constructs,
      },
      devDependencies: {
        '@types/node': STARTER_VERSIONS['@types/node'],
        'cdk8s-cli': STARTER_VERSIONS['cdk8s-cli'],
        'ts-node': STARTER_VERSIONS['ts-node'],
        typescript: STARTER_VERSIONS.typescript,
      },
    }),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'commonjs',
        moduleResolution: 'node',
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
        types: ['node'],
      },
      include: ['*.ts'],
    }),
    'cdk8s.yaml': 'language: typescript\napp: npx ts-node main.ts\noutput: dist\n',
    'main.ts': MAIN_TS,
    '.gitignore': 'node_modules/\ndist/\n',
  };
}

export function initApp(options: InitOptions): string[] {
  const files = starterFiles(options);
  const existing = Object.keys(files).filter((f) => existsSync(path.join(options.directory, f)));
  if (existing.length > 0) {
    throw usageError(
      `${options.directory} already has ${existing.join(', ')}: choose an empty or new directory`,
    );
  }
  mkdirSync(options.directory, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(options.directory, file), text);
  return Object.keys(files);
}

export function initCommand(ctx: CliContext): Command {
  return new Command('init')
    .description(
      'write a cdk8s app that uses the ClusterLink constructs (package.json, tsconfig.json, cdk8s.yaml, main.ts)',
    )
    .argument('[dir]', 'directory of the app (created if missing)', '.')
    .option(
      '--clusterlink <spec>',
      'what npm installs as clusterlink: a version range, or the path of a tarball from npm pack',
      `^${CLUSTERLINK_VERSION}`,
    )
    .action((dir: string, flags: { clusterlink: string }) => {
      const directory = path.resolve(dir);
      const name =
        path
          .basename(directory)
          .toLowerCase()
          .replace(/[^a-z0-9-]/g, '-') || 'clusterlink-app';
      // A tarball path is written as file:<absolute path>, so the app installs from anywhere.
      const spec =
        /\.(tgz|tar\.gz)$/.test(flags.clusterlink) && !/^[a-z+]+:/.test(flags.clusterlink)
          ? `file:${path.resolve(flags.clusterlink)}`
          : flags.clusterlink;
      const written = initApp({ directory, clusterlink: spec, name });
      ctx.out(
        `wrote ${written.join(', ')} in ${directory}\n` +
          `next: cd ${dir} && npm install && npx cdk8s synth --no-check-upgrade   (YAML in dist/)\n`,
      );
    });
}
