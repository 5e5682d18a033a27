/**
 * `clusterlink controlplane` and `clusterlink dataplane` as real processes against a real API
 * server: the control plane starts with flags, the data plane gets its snapshot over mTLS and turns
 * ready, both stop cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createCertificateAuthority, createPeerCertificate } from '../../cli/pki/certificates';
import { useTestCluster } from '../harness/cluster';
import { installCrds } from '../harness/crds';
import { kubectlOk } from '../harness/kubectl';
import { cli, tempDir } from '../unit/cli/helpers';

jest.setTimeout(180_000);
const ROOT = path.resolve(__dirname, '../..');
const cluster = useTestCluster({ name: 'cli-processes' });

function start(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): {
  child: ChildProcess;
  stderr: () => string;
  line: (re: RegExp) => Promise<RegExpExecArray>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'cli/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, CL_LOG_LEVEL: 'warn', ...env },
  });
  let text = '';
  const waiters: (() => void)[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    text += d.toString();
    waiters.splice(0).forEach((w) => w());
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} within 60s; stderr: ${text}`)), 60_000);
      const check = () => {
        const m = re.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else if (child.exitCode !== null) reject(new Error(`exited: ${text}`));
        else waiters.push(check);
      };
      void exited.then(() => check());
      check();
    });
  return { child, stderr: () => text, line, exited };
}

describe('clusterlink controlplane / dataplane processes', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir());
    const ca = await createCertificateAuthority({ commonName: 'fabric' });
    const east = await createPeerCertificate(ca, 'east');
    mkdirSync(path.join(dir, 'certs'));
    writeFileSync(path.join(dir, 'certs', 'ca.pem'), ca.cert);
    writeFileSync(path.join(dir, 'certs', 'cert.pem'), east.cert);
    writeFileSync(path.join(dir, 'certs', 'key.pem'), east.key);
    await installCrds(cluster().kubeConfig);
    await kubectlOk(cluster(), ['create', 'namespace', 'cl-test']);
  });
  afterAll(() => cleanup());

  it('runs both processes: the data plane receives its snapshot from the control plane', async () => {
    const certDir = path.join(dir, 'certs');
    const cp = start([
      'controlplane',
      '--kubeconfig',
      cluster().kubeconfigPath,
      '--cert-dir',
      certDir,
      '--namespace',
      'cl-test',
      '--admin-port',
      '0',
      '--snapshot-port',
      '0',
      '--peer-label',
      'region=us',
    ]);
    let dp: ReturnType<typeof start> | undefined;
    try {
      const [, snapshotHost, snapshotPort] = await cp.line(
        /control plane of peer "east" running; snapshots on (\S+):(\d+),/,
      );
      dp = start(['dataplane', '--gateway-port', '0', '--admin-port', '0'], {
        CL_CONTROLPLANE: `${snapshotHost === '[::]' || snapshotHost === '0.0.0.0' ? '127.0.0.1' : snapshotHost}:${snapshotPort}`,
        CL_CERT_DIR: certDir,
      });
      const [, adminHost, adminPort] = await dp.line(/admin on (\S+):(\d+)\n/);
      const host = adminHost === '[::]' || adminHost === '0.0.0.0' ? '127.0.0.1' : adminHost;
      let ready = 0;
      for (let i = 0; i < 300 && ready !== 200; i++) {
        ready = await fetch(`http://${host}:${adminPort}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready).toBe(200);
    } finally {
      dp?.child.kill('SIGTERM');
      cp.child.kill('SIGTERM');
    }
    expect(await dp!.exited).toBe(0);
    expect(await cp.exited).toBe(0);
    expect(dp!.stderr()).toContain('SIGTERM: closing the data plane');
    expect(cp.stderr()).toContain('SIGTERM: closing the control plane');
  });

  it.each([
    [['controlplane', '--admin-port', '99999'], 2, '--admin-port "99999" must be an integer 0-65535'],
    [['controlplane', '--log-level', 'loud'], 2, '--log-level "loud" must be one of'],
    [['controlplane', '--peer-label', '=x'], 2, '--peer-label "=x" must have the form key=value'],
    [
      ['controlplane', '--cert-dir', '/nonexistent', '--kubeconfig', '/nonexistent'],
      1,
      '/nonexistent/ca.pem: cannot read the fabric CA certificate',
    ],
    [['dataplane', '--gateway-port', '-1'], 2, '--gateway-port "-1" must be an integer 0-65535'],
    [
      ['dataplane', '--cert-dir', '/nonexistent'],
      1,
      'the data plane did not start: /nonexistent/ca.pem: cannot read',
    ],
    [
      ['dataplane', '--cert-dir', '/nonexistent', '--controlplane', 'a:b:c'],
      1,
      'the data plane did not start',
    ],
  ])('rejects %j', async (args, code, message) => {
    const r = await cli(args);
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(code);
  });
});
