/**
 * `clusterlink deploy peer --apply`, `status` and `delete peer` against a real API server: objects
 * applied server-side through the kubeconfig, read back; rollout progress and its time-out (nothing
 * schedules Pods here); status from the stored objects; deletion of what deploy created.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { useTestCluster } from '../harness/cluster';
import { kubectl, kubectlOk } from '../harness/kubectl';
import { cli, tempDir } from '../unit/cli/helpers';

jest.setTimeout(180_000);

const cluster = useTestCluster({ name: 'cli-deploy' });

describe('clusterlink deploy/status/delete against a real API server', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir());
    await cli(['create', 'fabric', '--path', dir]);
    await cli(['create', 'peer-cert', '--name', 'east', '--path', dir]);
  });
  afterAll(() => cleanup());

  it('applies the site server-side, idempotently, and the API server stores it', async () => {
    const kubeconfig = cluster().kubeconfigPath;
    const args = [
      'deploy',
      'peer',
      '--name',
      'east',
      '--path',
      dir,
      '--apply',
      '--no-wait',
      '--kubeconfig',
      kubeconfig,
      '--label',
      'region=us',
    ];
    const first = await cli(args);
    expect(first.stderr).toMatch(
      /\n {4}\d+ objects applied \(field manager "clusterlink"\)\n✔ Apply \d+ objects of peer "east" to https:\/\/127\.0\.0\.1:\d+ \(/,
    );
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('peer "east" deployed in namespace clusterlink-system');
    expect((await cli(args)).code).toBe(0);

    const crds = await kubectlOk(cluster(), ['get', 'crd', '-o', 'name']);
    for (const plural of ['peers', 'exports', 'imports', 'accesspolicies', 'privilegedaccesspolicies']) {
      expect(crds).toContain(`customresourcedefinition.apiextensions.k8s.io/${plural}.clusterlink.net`);
    }
    const deployments = await kubectlOk(cluster(), [
      '-n',
      'clusterlink-system',
      'get',
      'deployments',
      '-o',
      'name',
    ]);
    expect(deployments.split('\n').sort().filter(Boolean)).toEqual([
      'deployment.apps/cl-controlplane',
      'deployment.apps/cl-dataplane',
    ]);
    const certB64 = await kubectlOk(cluster(), [
      '-n',
      'clusterlink-system',
      'get',
      'secret',
      'cl-peer',
      '-o',
      'jsonpath={.data.cert\\.pem}',
    ]);
    expect(Buffer.from(certB64, 'base64').toString()).toBe(
      readFileSync(path.join(dir, 'default_fabric', 'east', 'cert.pem'), 'utf8'),
    );
    const managers = await kubectlOk(cluster(), [
      '-n',
      'clusterlink-system',
      'get',
      'deployment',
      'cl-dataplane',
      '-o',
      'jsonpath={.metadata.managedFields[*].manager}',
    ]);
    expect(managers).toContain('clusterlink');
  });

  it('shows rollout progress and gives up with what is missing after --timeout', async () => {
    const r = await cli([
      'deploy',
      'peer',
      '--name',
      'east',
      '--path',
      dir,
      '--apply',
      '--timeout',
      '3',
      '--kubeconfig',
      cluster().kubeconfigPath,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('… Wait for cl-controlplane and cl-dataplane to roll out');
    expect(r.stderr).toContain('cl-controlplane 0/1 available, cl-dataplane 0/1 available');
    expect(r.stderr).toContain(
      'rollout not finished after 3s: cl-controlplane 0/1 available, cl-dataplane 0/1 available',
    );
  });

  it("reports the site's objects and their conditions in status", async () => {
    await kubectlOk(cluster(), ['apply', '-f', '-'], {
      input: `apiVersion: clusterlink.net/v1alpha1
kind: Peer
metadata: { name: west, namespace: clusterlink-system }
spec: { gateways: [{ host: 192.0.2.1, port: 443 }] }
---
apiVersion: clusterlink.net/v1alpha1
kind: Import
metadata: { name: db, namespace: default }
spec: { port: 5432, sources: [{ peer: west, exportName: db, exportNamespace: default }] }
---
apiVersion: clusterlink.net/v1alpha1
kind: AccessPolicy
metadata: { name: allow-all, namespace: default }
spec: { action: allow, from: [{ workloadSelector: {} }], to: [{ workloadSelector: {} }] }
`,
    });
    const r = await cli(['status', '--kubeconfig', cluster().kubeconfigPath]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Site east \(Kubernetes\)/);
    expect(r.stdout).toMatch(/\nwest +unknown +- +- +192\.0\.2\.1:443/);
    expect(r.stdout).toMatch(/default\/db +5432 .*west:default\/db +no +not reconciled yet/);
    expect(r.stdout).toContain('AccessPolicy  default/allow-all  allow');
    const json = JSON.parse(
      (await cli(['status', '--kubeconfig', cluster().kubeconfigPath, '-o', 'json'])).stdout,
    );
    expect(json.source).toBe('kubernetes');
    expect(json.policies[0].spec.action).toBe('allow');
  });

  it('explains a policy decision from the cluster', async () => {
    const r = await cli(['policy', 'explain', '--import', 'db', '--kubeconfig', cluster().kubeconfigPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/egress +at east: ALLOW by AccessPolicy default\/allow-all/);
    expect(r.stdout).toContain('ingress at west: unknown');
  });

  it('deletes what deploy created and keeps the CRDs', async () => {
    const r = await cli(['delete', 'peer', '--name', 'east', '--kubeconfig', cluster().kubeconfigPath]);
    expect(r.stderr).toMatch(/✔ Delete peer "east"/);
    expect(r.code).toBe(0);
    const gone = await kubectl(cluster(), ['-n', 'clusterlink-system', 'get', 'deployment', 'cl-dataplane']);
    expect(gone.stderr).toContain('NotFound');
    const secret = await kubectl(cluster(), ['-n', 'clusterlink-system', 'get', 'secret', 'cl-peer']);
    expect(secret.stderr).toContain('NotFound');
    expect(await kubectlOk(cluster(), ['get', 'crd', 'peers.clusterlink.net', '-o', 'name'])).toContain(
      'peers.clusterlink.net',
    );
    // A second delete finds nothing to do and still succeeds.
    expect(
      (await cli(['delete', 'peer', '--name', 'east', '--kubeconfig', cluster().kubeconfigPath])).code,
    ).toBe(0);
  });

  it('names the API server it cannot reach', async () => {
    const { dir: kdir, cleanup: kclean } = tempDir();
    try {
      const file = path.join(kdir, 'kubeconfig');
      writeFileSync(
        file,
        'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\ncurrent-context: c\n',
      );
      const r = await cli(['status', '--kubeconfig', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('cannot reach https://127.0.0.1:1');
    } finally {
      kclean();
    }
  });
});
