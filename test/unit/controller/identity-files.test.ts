/**
 * Reading the certificate folder: missing files are reported in a fixed order (CA, certificate,
 * key), whichever read fails first in time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCertificateAuthority, createPeerCertificate } from '../../../cli/pki/certificates';
import { defaultCertificateFiles, loadPeerIdentity } from '../../../controller/identity';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-identity-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

it('names the CA first when every file is missing, every time', async () => {
  const files = defaultCertificateFiles(dir);
  const messages = new Set<string>();
  for (let i = 0; i < 30; i++) {
    await loadPeerIdentity(files).then(
      () => messages.add('loaded'),
      (err: Error) => messages.add(err.message),
    );
  }
  expect([...messages]).toEqual([`${files.ca}: cannot read the fabric CA certificate (ENOENT)`]);
});

it('names the certificate when only the CA is there, then loads once all are', async () => {
  const ca = await createCertificateAuthority({ commonName: 'fabric' });
  const peer = await createPeerCertificate(ca, 'east');
  const files = defaultCertificateFiles(dir);
  fs.writeFileSync(files.ca, ca.cert);
  await expect(loadPeerIdentity(files)).rejects.toThrow(
    `${files.cert}: cannot read the peer certificate (ENOENT)`,
  );
  fs.writeFileSync(files.cert, peer.cert);
  fs.writeFileSync(files.key, peer.key);
  await expect(loadPeerIdentity(files)).resolves.toMatchObject({ peerName: 'east' });
});
