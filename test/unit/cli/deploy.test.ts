import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { createCertificate } from '../../../cli/pki/certificates';
import { cli, tempDir } from './helpers';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

describe('clusterlink deploy peer (printing YAML)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir());
    await cli(['create', 'fabric', '--path', dir]);
    await cli(['create', 'peer-cert', '--name', 'east', '--path', dir]);
    await cli(['create', 'peer-cert', '--name', 'west', '--path', dir]);
  });
  afterAll(() => cleanup());

  async function deploy(...args: string[]): Promise<Obj[]> {
    const r = await cli(['deploy', 'peer', '--path', dir, ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
  }

  it('prints the CRDs, the gateway and Secrets from the certificate files, CRDs first', async () => {
    const objects = await deploy('--name', 'east');
    const kinds = objects.map((o) => o.kind);
    expect(kinds.slice(0, 5)).toEqual(Array(5).fill('CustomResourceDefinition'));
    expect(kinds[5]).toBe('Namespace');
    expect(
      objects
        .filter((o) => o.kind === 'Deployment')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['cl-controlplane', 'cl-dataplane']);
    const secretText = (name: string, key: string) => {
      const s = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name)!;
      return s.stringData?.[key] ?? Buffer.from(s.data![key], 'base64').toString();
    };
    expect(secretText('cl-fabric', 'ca.pem')).toBe(
      readFileSync(path.join(dir, 'default_fabric', 'cert.pem'), 'utf8'),
    );
    expect(secretText('cl-peer', 'cert.pem')).toBe(
      readFileSync(path.join(dir, 'default_fabric', 'east', 'cert.pem'), 'utf8'),
    );
    expect(secretText('cl-peer', 'key.pem')).toBe(
      readFileSync(path.join(dir, 'default_fabric', 'east', 'key.pem'), 'utf8'),
    );
    // The fabric's private key never leaves the machine.
    const fabricKey = readFileSync(path.join(dir, 'default_fabric', 'key.pem'), 'utf8').split('\n')[1];
    expect(JSON.stringify(objects)).not.toContain(fabricKey);
    expect(
      objects.every(
        (o) =>
          o.kind === 'CustomResourceDefinition' ||
          o.kind === 'Namespace' ||
          o.kind.startsWith('Cluster') ||
          o.metadata.namespace === 'clusterlink-system',
      ),
    ).toBe(true);
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'cl-dataplane')!;
    expect(svc.spec).toMatchObject({ type: 'LoadBalancer', ports: [expect.objectContaining({ port: 443 })] });
  });

  it('applies the flags: namespace, NodePort, labels, replicas, image', async () => {
    const objects = await deploy(
      '--name',
      'west',
      '--namespace',
      'cl',
      '--ingress',
      'NodePort',
      '--ingress-port',
      '30443',
      '--label',
      'region=eu',
      '--label',
      'tier=edge',
      '--dataplane-replicas',
      '3',
      '--image',
      'registry.local/cl:dev',
    );
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'cl-dataplane')!;
    expect(svc.metadata.namespace).toBe('cl');
    expect(svc.spec).toMatchObject({
      type: 'NodePort',
      ports: [expect.objectContaining({ nodePort: 30443 })],
    });
    const dp = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cl-dataplane')!;
    expect(dp.spec?.replicas).toBe(3);
    expect(JSON.stringify(dp)).toContain('registry.local/cl:dev');
    const cp = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cl-controlplane')!;
    expect(JSON.stringify(cp)).toMatch(
      /"name":"CL_PEER_LABELS","value":"(region=eu,tier=edge|tier=edge,region=eu)"/,
    );
  });

  it.each([
    [['--name', 'East'], 2, '--name "East" is not a valid DNS label'],
    [['--name', 'north'], 1, 'clusterlink create peer-cert --name north'],
    [['--name', 'east', '--fabric', 'nope'], 1, 'clusterlink create fabric --name nope'],
    [
      ['--name', 'east', '--ingress', 'Ingress'],
      2,
      '--ingress "Ingress" must be one of: ClusterIP, NodePort, LoadBalancer',
    ],
    [
      ['--name', 'east', '--ingress', 'NodePort', '--ingress-port', '443'],
      2,
      '--ingress-port 443 with --ingress NodePort is the node port: use 30000-32767',
    ],
    [['--name', 'east', '--ingress-port', '0'], 2, '--ingress-port "0" must be an integer 1-65535'],
    [['--name', 'east', '--label', 'x'], 2, '--label "x" must have the form key=value'],
    [['--name', 'east', '--dataplane-replicas', '0'], 2, '--dataplane-replicas "0" must be an integer 1-100'],
    [['--name', 'east', '--log-level', 'chatty'], 2, '--log-level "chatty" must be one of'],
    [['--name', 'east', '--namespace', 'Bad_NS'], 2, '--namespace "Bad_NS" is not a valid DNS label'],
    [
      ['--name', 'east', '--apply', '--kubeconfig', '/nonexistent'],
      1,
      'kubeconfig /nonexistent does not exist',
    ],
  ])('rejects %j', async (args, code, message) => {
    const r = await cli(['deploy', 'peer', '--path', dir, ...args]);
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(code);
  });

  it('refuses a peer certificate signed by another fabric', async () => {
    const other = tempDir();
    try {
      await cli(['create', 'fabric', '--path', other.dir]);
      await cli(['create', 'peer-cert', '--name', 'east', '--path', other.dir]);
      // east's certificate from the other fabric, next to this fabric's CA
      writeFileSync(
        path.join(dir, 'default_fabric', 'west', 'cert.pem'),
        readFileSync(path.join(other.dir, 'default_fabric', 'east', 'cert.pem')),
      );
      const r = await cli(['deploy', 'peer', '--path', dir, '--name', 'west']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('is not signed by the fabric CA');
    } finally {
      other.cleanup();
    }
  });

  it('refuses a peer certificate without a DNS SAN rather than taking its CN as the peer name', async () => {
    await cli(['create', 'peer-cert', '--name', 'north', '--path', dir]);
    const fabric = path.join(dir, 'default_fabric');
    const ca = {
      cert: readFileSync(path.join(fabric, 'cert.pem'), 'utf8'),
      key: readFileSync(path.join(fabric, 'key.pem'), 'utf8'),
    };
    const cnOnly = await createCertificate({ ca, commonName: 'north' });
    writeFileSync(path.join(fabric, 'north', 'cert.pem'), cnOnly.cert);
    writeFileSync(path.join(fabric, 'north', 'key.pem'), cnOnly.key);
    const r = await cli(['deploy', 'peer', '--path', dir, '--name', 'north']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'has no DNS subject alternative name, so it names no peer (the CN does not count)',
    );
  });

  it('delete peer needs a kubeconfig', async () => {
    const r = await cli(['delete', 'peer', '--name', 'east', '--kubeconfig', '/nonexistent']);
    expect(r).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('kubeconfig /nonexistent does not exist'),
    });
  });
});
