/**
 * The gateway port's TLS settings as a client sees them: the suite the server picks, the versions
 * and suites it refuses.
 */
import { Cleanup, tlsTo, type Pki } from '../dataplane/harness';
import { fabric, startWest, type Site } from './fixtures';

let pki: Pki;
let site: Site;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await fabric();
});
beforeEach(async () => {
  site = await startWest(cleanup, pki);
});
afterEach(() => cleanup.run());

const connect = (options: { ciphers?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}) =>
  tlsTo(site.dp, pki.certs.east, { ca: pki.ca.cert, servername: 'west', ...options }).then((socket) => {
    cleanup.add(() => socket.destroy());
    return socket;
  });

it('picks TLS 1.3 with AES-128-GCM for a client that prefers AES-256-GCM (Node default order)', async () => {
  const socket = await connect();
  expect(socket.getProtocol()).toBe('TLSv1.3');
  expect(socket.getCipher().standardName).toBe('TLS_AES_128_GCM_SHA256');
});

it('still connects a client that offers only another TLS 1.3 suite', async () => {
  const socket = await connect({ ciphers: 'TLS_CHACHA20_POLY1305_SHA256' });
  expect(socket.getCipher().standardName).toBe('TLS_CHACHA20_POLY1305_SHA256');
});

it('serves TLS 1.2 with an ECDHE AEAD suite', async () => {
  const socket = await connect({ maxVersion: 'TLSv1.2' });
  expect(socket.getProtocol()).toBe('TLSv1.2');
  expect(socket.getCipher().standardName).toBe('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
});

it('refuses a TLS 1.2 client that offers only CBC suites', async () => {
  await expect(
    connect({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA' }),
  ).rejects.toThrow(/handshake failure|no shared cipher|alert/i);
});
