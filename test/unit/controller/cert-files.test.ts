/**
 * The certificate folder watcher against a folder laid out like a mounted Secret (files are
 * symlinks through `..data`, which an update renames over).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createCertificateAuthority,
  createPeerCertificate,
  type CertificateAndKey,
} from '../../../cli/pki/certificates';
import type { SnapshotTls } from '../../../kernel/api/snapshot';
import { CertificateWatcher } from '../../../controller/cert-files';
import { defaultCertificateFiles } from '../../../controller/identity';

let dir: string;
let versions = 0;
let fabric: SnapshotTls;
let otherFabric: SnapshotTls;
let otherPeer: SnapshotTls;
const watchers: CertificateWatcher[] = [];

function material(ca: CertificateAndKey, peer: CertificateAndKey): SnapshotTls {
  return { ca: ca.cert, cert: peer.cert, key: peer.key };
}

/** Writes a new version folder and renames the `..data` symlink over, like the kubelet. */
function publish(tls: SnapshotTls): void {
  const version = `..v${++versions}`;
  fs.mkdirSync(path.join(dir, version));
  fs.writeFileSync(path.join(dir, version, 'ca.pem'), tls.ca);
  fs.writeFileSync(path.join(dir, version, 'cert.pem'), tls.cert);
  fs.writeFileSync(path.join(dir, version, 'key.pem'), tls.key);
  fs.symlinkSync(version, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const file of ['ca.pem', 'cert.pem', 'key.pem']) {
    const link = path.join(dir, file);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join('..data', file), link);
  }
}

function watch(options: { intervalMs: number; peerName?: string }) {
  const changes: SnapshotTls[] = [];
  const watcher = new CertificateWatcher({
    files: defaultCertificateFiles(dir),
    current: fabric,
    peerName: options.peerName ?? 'east',
    intervalMs: options.intervalMs,
    debounceMs: 20,
    onChange: (identity) => changes.push(identity.tls),
  });
  watchers.push(watcher);
  watcher.start();
  return { watcher, changes };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  const ca = await createCertificateAuthority({ commonName: 'fabric' });
  const other = await createCertificateAuthority({ commonName: 'other-fabric' });
  fabric = material(ca, await createPeerCertificate(ca, 'east'));
  otherFabric = material(other, await createPeerCertificate(other, 'east'));
  otherPeer = material(ca, await createPeerCertificate(ca, 'west'));
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-cert-files-'));
  publish(fabric);
});
afterEach(() => {
  for (const w of watchers.splice(0)) w.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('reports certificates of another fabric, then the restored ones (file-system events)', async () => {
  // An interval far beyond the test: only fs.watch can notice in time.
  const { watcher, changes } = watch({ intervalMs: 60_000 });

  publish(otherFabric);
  await until(() => changes.length === 1);
  expect(changes[0]).toEqual(otherFabric);
  expect(watcher.tls).toEqual(otherFabric);

  publish(fabric);
  await until(() => changes.length === 2);
  expect(changes[1]).toEqual(fabric);
});

it('notices a swap through the periodic comparison alone', async () => {
  const { changes } = watch({ intervalMs: 50 });
  // Stop the file-system watch, as on file systems that do not report symlink swaps.
  for (const w of (watchers[0] as unknown as { fsWatchers: fs.FSWatcher[] }).fsWatchers) w.close();

  publish(otherFabric);
  await until(() => changes.length === 1);
  expect(changes[0]).toEqual(otherFabric);
});

it('keeps the previous certificates when the new ones name another peer or do not match', async () => {
  const { watcher, changes } = watch({ intervalMs: 50 });

  publish(otherPeer);
  // A key that belongs to another certificate: refused as well.
  publish({ ...otherFabric, key: fabric.key });
  await watcher.check();
  await new Promise((r) => setTimeout(r, 200));
  expect(changes).toEqual([]);
  expect(watcher.tls).toEqual(fabric);

  // Good material afterwards is picked up.
  publish(otherFabric);
  await until(() => changes.length === 1);
  expect(changes[0]).toEqual(otherFabric);
});

it('reports nothing while the content stays the same', async () => {
  const { watcher, changes } = watch({ intervalMs: 20 });
  publish(fabric); // new version folder, same bytes
  await watcher.check();
  await new Promise((r) => setTimeout(r, 150));
  expect(changes).toEqual([]);
});
