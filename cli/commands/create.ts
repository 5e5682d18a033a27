/** `clusterlink create fabric` and `clusterlink create peer-cert`. */
import { Command } from 'commander';
import { createCertificateAuthority, createPeerCertificate, type KeyType } from '../pki/certificates';
import {
  DEFAULT_FABRIC,
  fabricDirectory,
  peerDirectory,
  readCertificatePair,
  writeCertificatePair,
} from '../pki/layout';
import { oneOf, requireDnsLabel } from '../validate';
import { usageError } from '../errors';
import type { CliContext } from '../context';

const KEY_TYPES: readonly KeyType[] = ['ecdsa', 'rsa'];

export interface CreateFabricOptions {
  readonly name: string;
  readonly path: string;
  readonly keyType: KeyType;
}

export async function createFabric(options: CreateFabricOptions): Promise<{ directory: string }> {
  if (
    options.name.trim() === '' ||
    /[/\\]/.test(options.name) ||
    options.name === '.' ||
    options.name === '..'
  ) {
    throw usageError(`--name "${options.name}" must be a plain directory name (no "/")`);
  }
  const directory = fabricDirectory(options.name, options.path);
  const ca = await createCertificateAuthority({ commonName: options.name, keyType: options.keyType });
  await writeCertificatePair(directory, ca, `fabric CA "${options.name}"`);
  return { directory };
}

export interface CreatePeerCertOptions {
  readonly name: string;
  readonly fabric: string;
  readonly path: string;
  readonly keyType: KeyType;
}

export async function createPeerCert(options: CreatePeerCertOptions): Promise<{ directory: string }> {
  requireDnsLabel('--name', options.name);
  const ca = await readCertificatePair(
    fabricDirectory(options.fabric, options.path),
    `fabric CA "${options.fabric}"`,
    `create it with: clusterlink create fabric --name ${options.fabric} --path ${options.path}`,
  );
  const directory = peerDirectory(options.name, options.fabric, options.path);
  const pair = await createPeerCertificate(ca, options.name, { keyType: options.keyType });
  await writeCertificatePair(directory, pair, `certificate of peer "${options.name}"`);
  return { directory };
}

export function createCommand(ctx: CliContext): Command {
  const create = new Command('create').description('create fabric and peer credentials');

  create
    .command('fabric')
    .description('create the fabric certificate authority: <path>/<name>/{cert,key}.pem')
    .option('--name <name>', 'fabric name', DEFAULT_FABRIC)
    .option('--path <dir>', 'directory where the certificates are created', '.')
    .option('--key-type <type>', 'ecdsa (P-256) or rsa (2048 bits)', 'ecdsa')
    .action(async (opts: { name: string; path: string; keyType: string }) => {
      const keyType = oneOf('--key-type', opts.keyType, KEY_TYPES);
      const { directory } = await createFabric({ name: opts.name, path: opts.path, keyType });
      ctx.out(
        `fabric CA "${opts.name}" written to ${directory}/cert.pem and ${directory}/key.pem (key mode 0600)\n`,
      );
    });

  create
    .command('peer-cert')
    .description('create a peer certificate signed by the fabric CA: <path>/<fabric>/<name>/{cert,key}.pem')
    .requiredOption('--name <name>', 'peer name (a DNS label; becomes the CN and first DNS SAN)')
    .option('--fabric <name>', 'fabric name', DEFAULT_FABRIC)
    .option('--path <dir>', 'directory holding the fabric', '.')
    .option('--key-type <type>', 'ecdsa (P-256) or rsa (2048 bits)', 'ecdsa')
    .action(async (opts: { name: string; fabric: string; path: string; keyType: string }) => {
      const keyType = oneOf('--key-type', opts.keyType, KEY_TYPES);
      const { directory } = await createPeerCert({ ...opts, keyType });
      ctx.out(
        `certificate of peer "${opts.name}" written to ${directory}/cert.pem and ${directory}/key.pem\n`,
      );
    });

  return create;
}
