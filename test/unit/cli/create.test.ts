import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { cli, tempDir } from './helpers';

describe('clusterlink create fabric / peer-cert', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('creates the fabric CA in the upstream layout with a 0600 key', async () => {
    const r = await cli(['create', 'fabric', '--path', dir]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const certFile = path.join(dir, 'default_fabric', 'cert.pem');
    const keyFile = path.join(dir, 'default_fabric', 'key.pem');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const ca = new X509Certificate(readFileSync(certFile));
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=default_fabric');
    expect(ca.publicKey.asymmetricKeyType).toBe('ec');
    expect(r.stdout).toContain(certFile);
  });

  it('creates an RSA fabric with --key-type rsa and a named fabric', async () => {
    const r = await cli(['create', 'fabric', '--name', 'prod', '--path', dir, '--key-type', 'rsa']);
    expect(r.code).toBe(0);
    const ca = new X509Certificate(readFileSync(path.join(dir, 'prod', 'cert.pem')));
    expect(ca.publicKey.asymmetricKeyType).toBe('rsa');
  });

  it('refuses to overwrite an existing fabric and keeps the old files', async () => {
    expect((await cli(['create', 'fabric', '--path', dir])).code).toBe(0);
    const before = readFileSync(path.join(dir, 'default_fabric', 'key.pem'), 'utf8');
    const r = await cli(['create', 'fabric', '--path', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already exists: refusing to overwrite/);
    expect(readFileSync(path.join(dir, 'default_fabric', 'key.pem'), 'utf8')).toBe(before);
  });

  it('rejects an unknown key type naming the flag', async () => {
    const r = await cli(['create', 'fabric', '--path', dir, '--key-type', 'dsa']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--key-type "dsa" must be one of: ecdsa, rsa');
  });

  it('rejects a fabric name with a slash', async () => {
    const r = await cli(['create', 'fabric', '--path', dir, '--name', 'a/b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--name "a/b"');
  });

  it('creates a peer certificate signed by the fabric, CN and first SAN = name, server+client usage', async () => {
    await cli(['create', 'fabric', '--path', dir]);
    const r = await cli(['create', 'peer-cert', '--name', 'east', '--path', dir]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const ca = new X509Certificate(readFileSync(path.join(dir, 'default_fabric', 'cert.pem')));
    const peer = new X509Certificate(readFileSync(path.join(dir, 'default_fabric', 'east', 'cert.pem')));
    expect(statSync(path.join(dir, 'default_fabric', 'east', 'key.pem')).mode & 0o777).toBe(0o600);
    expect(peer.verify(ca.publicKey)).toBe(true);
    expect(peer.checkIssued(ca)).toBe(true);
    expect(peer.subject).toBe('CN=east');
    expect(peer.subjectAltName).toBe('DNS:east, DNS:dataplane.east');
    expect(peer.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(peer.ca).toBe(false);
  });

  it('signs with an RSA fabric and a custom fabric name', async () => {
    await cli(['create', 'fabric', '--name', 'f2', '--path', dir, '--key-type', 'rsa']);
    const r = await cli(['create', 'peer-cert', '--name', 'west', '--fabric', 'f2', '--path', dir]);
    expect(r.code).toBe(0);
    const ca = new X509Certificate(readFileSync(path.join(dir, 'f2', 'cert.pem')));
    const peer = new X509Certificate(readFileSync(path.join(dir, 'f2', 'west', 'cert.pem')));
    expect(peer.verify(ca.publicKey)).toBe(true);
  });

  it.each([
    ['East', 'lower-case'],
    ['-east', 'start and end'],
    ['a.b', 'lower-case'],
    ['x'.repeat(64), 'at most 63'],
  ])('rejects peer name %s with a clear error', async (name, why) => {
    await cli(['create', 'fabric', '--path', dir]);
    const r = await cli(['create', 'peer-cert', '--name', name, '--path', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--name "${name}" is not a valid DNS label`);
    expect(r.stderr).toContain(why);
  });

  it('requires --name', async () => {
    const r = await cli(['create', 'peer-cert', '--path', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required option '--name <name>' not specified/);
  });

  it('says how to create the fabric when it is missing', async () => {
    const r = await cli(['create', 'peer-cert', '--name', 'east', '--path', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('clusterlink create fabric --name default_fabric');
  });

  it('refuses to overwrite an existing peer certificate', async () => {
    await cli(['create', 'fabric', '--path', dir]);
    expect((await cli(['create', 'peer-cert', '--name', 'east', '--path', dir])).code).toBe(0);
    const r = await cli(['create', 'peer-cert', '--name', 'east', '--path', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refusing to overwrite');
  });

  it('reports a corrupt fabric certificate by file', async () => {
    mkdirSync(path.join(dir, 'default_fabric'));
    writeFileSync(path.join(dir, 'default_fabric', 'cert.pem'), 'garbage');
    writeFileSync(path.join(dir, 'default_fabric', 'key.pem'), 'garbage');
    const r = await cli(['create', 'peer-cert', '--name', 'east', '--path', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path.join(dir, 'default_fabric', 'cert.pem'));
  });

  it('prints help and exits 0', async () => {
    const r = await cli(['create', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('peer-cert');
  });

  it('rejects an unknown command', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });
});
