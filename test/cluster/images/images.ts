// The container images of the real-Kubernetes test sites, as built by test/cluster/images/build.sh
// (OCI archives in a cache folder; no registry), and the one way to load them into a site's
// containerd. Names and files are also in images.env, which build.sh and verify.sh read: change
// both together.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where build.sh writes the archives: `$CLUSTERLINK_IMAGES_DIR`, else ~/.cache/clusterlink/images. */
export const imagesDir =
  process.env.CLUSTERLINK_IMAGES_DIR || join(homedir(), '.cache', 'clusterlink', 'images');

export interface LocalImage {
  /** The image name Pods and containerd's sandbox_image use (never pulled: imagePullPolicy Never or IfNotPresent). */
  readonly name: string;
  /** The OCI archive build.sh writes. */
  readonly archive: string;
}

function image(name: string, file: string): LocalImage {
  return { name, archive: join(imagesDir, file) };
}

/** containerd's `sandbox_image`: a static pause built from pause.c. */
export const pauseImage = image('localhost/clusterlink/pause:3.10', 'pause-3.10.oci.tar');
/** The gateway, with the Dockerfile's contents, built from the checkout build.sh ran in. */
export const gatewayImage = image('localhost/clusterlink/clusterlink:dev', 'clusterlink-dev.oci.tar');
/** CoreDNS (built only when build.sh ran with CLUSTERLINK_COREDNS_BIN set). */
export const corednsImage = image('localhost/clusterlink/coredns:1.14', 'coredns-1.14.oci.tar');
/**
 * Test client and server: curl, iperf3, redis-server/-cli/-benchmark, busybox applets; its default
 * command `echo-server` answers HTTP on $ECHO_PORT (8080) with `site=$SITE_NAME` and `host=<pod>`.
 */
export const testboxImage = image('localhost/clusterlink/testbox:1', 'testbox-1.oci.tar');

export const allImages: readonly LocalImage[] = [pauseImage, gatewayImage, corednsImage, testboxImage];

export interface LoadImagesOptions {
  /** Which images (default: all four). */
  images?: readonly LocalImage[];
  /** containerd namespace (default `k8s.io`, the one the CRI plug-in and so the kubelet use). */
  namespace?: string;
  /** Snapshotter to unpack into (default: containerd's default, as the CRI plug-in's). */
  snapshotter?: string;
  /** The ctr binary (default `ctr` on PATH). */
  ctr?: string;
}

export interface LoadImagesResult {
  /** Imported by this call (absent, or loaded from an older archive). */
  imported: string[];
  /** Already in containerd with the archive's manifest digest: skipped. */
  present: string[];
}

/**
 * Imports the images' archives into the containerd listening on `containerdSocket` with `ctr
 * images import`, skipping each image already there with the digest its archive holds (build.sh
 * writes `<archive>.digest`). Throws, naming the build command, if an archive is missing.
 */
export async function loadImages(
  containerdSocket: string,
  options: LoadImagesOptions = {},
): Promise<LoadImagesResult> {
  const { images = allImages, namespace = 'k8s.io', ctr = 'ctr' } = options;
  const missing = images.filter((i) => !existsSync(i.archive) || !existsSync(`${i.archive}.digest`));
  if (missing.length > 0) {
    throw new Error(
      `image archives missing: ${missing.map((i) => `${i.name} (${i.archive})`).join(', ')}; ` +
        'build them with `CLUSTERLINK_COREDNS_BIN=<coredns binary> bash test/cluster/images/build.sh` (as root)',
    );
  }
  const base = ['--address', containerdSocket, '--namespace', namespace];
  const loaded = await listImages(ctr, base);
  const result: LoadImagesResult = { imported: [], present: [] };
  for (const i of images) {
    const digest = readFileSync(`${i.archive}.digest`, 'utf8').trim();
    if (loaded.get(i.name) === digest) {
      result.present.push(i.name);
      continue;
    }
    const args = [...base, 'images', 'import'];
    if (options.snapshotter) args.push('--snapshotter', options.snapshotter);
    args.push(i.archive);
    try {
      await run(ctr, args, { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`ctr images import ${i.archive} failed: ${(e.stderr || e.message).trim()}`);
    }
    result.imported.push(i.name);
  }
  return result;
}

/** Image name to target digest, from `ctr images ls`. */
async function listImages(ctr: string, base: string[]): Promise<Map<string, string>> {
  let stdout: string;
  try {
    ({ stdout } = await run(ctr, [...base, 'images', 'ls'], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ctr images ls failed: ${(e.stderr || e.message).trim()}`);
  }
  const images = new Map<string, string>();
  for (const line of stdout.split('\n').slice(1)) {
    const [ref, , digest] = line.trim().split(/\s+/);
    if (ref && digest) images.set(ref, digest);
  }
  return images;
}
