/**
 * Exports, Peers, policies, client attributes, metrics and the snapshot, against a real API
 * server: ExportValid follows its Service; a Peer whose gateway (a real mTLS /healthz server)
 * goes down becomes unreachable and then reachable again; policy tiers decide through the
 * snapshot; Events, observedGeneration and metrics are what a user would see.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createPeerCertificate } from '../../cli/pki/certificates';
import { Attr, Condition } from '../../kernel/api/labels';
import { encodePeerLabelsHeader } from '../../kernel/api/peer-labels-header';
import type { Secret } from '../../controller/k8s/core';
import { Resources } from '../../controller/k8s/resources';
import { runControlPlane, type ControlPlane } from '../../controller/main';
import { heartbeatPeerMonitor } from '../../controller/peer-monitor';
import { PolicyEngine } from '../../kernel/policy/engine';
import type { Export, Peer } from '../../imports/clusterlink.net.types';
import { startTestCluster, type TestCluster } from '../harness/cluster';
import {
  create,
  createPod,
  crd,
  ensureNamespace,
  eventually,
  eventsFor,
  GATEWAY_NS,
  prepareSite,
  read,
  remove,
  waitForCondition,
  type Site,
} from './controller-helpers';

jest.setTimeout(90_000);

let cluster: TestCluster;
let site: Site;
let cp: ControlPlane;

beforeAll(async () => {
  cluster = await startTestCluster({ name: 'controller-status' });
  site = await prepareSite(cluster);
  cp = await runControlPlane({
    kubeConfig: cluster.kubeConfig,
    certDir: site.certDir,
    peerLabels: { region: 'east-1' },
    adminPort: 0,
    snapshotPort: 0,
    leaseRetryMs: 200,
    // Probe every second also while unreachable, so "reachable again" takes 3 s rather than 30 s.
    peerMonitor: heartbeatPeerMonitor({ policy: { unreachableIntervalMs: 1000 }, timeoutMs: 1000 }),
  });
  await eventually(() => cp.isLeader(), 'leadership');
}, 120_000);

afterAll(async () => {
  await cp?.close();
  site?.client.close();
  await cluster?.stop();
}, 60_000);

describe('Export', () => {
  it('ExportValid follows its Service: absent, created, deleted', async () => {
    await ensureNamespace(site.client, 'web');
    await create(site.client, Resources.export, crd('Export', 'web', 'echo', {}));
    await waitForCondition(
      site.client,
      Resources.export,
      'web',
      'echo',
      Condition.exportValid,
      'False',
      'ServiceNotFound',
    );
    await create(site.client, Resources.service, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo', namespace: 'web' },
      spec: { selector: { app: 'echo' }, ports: [{ port: 8080 }] },
    });
    await waitForCondition(
      site.client,
      Resources.export,
      'web',
      'echo',
      Condition.exportValid,
      'True',
      'ServiceFound',
    );
    await eventually(
      () =>
        cp.snapshots.snapshot?.exports.find(
          (e) => e.name === 'echo' && e.host === 'echo.web.svc.cluster.local' && e.port === 8080,
        ),
      'export in the snapshot',
    );
    await remove(site.client, Resources.service, 'web', 'echo');
    await waitForCondition(
      site.client,
      Resources.export,
      'web',
      'echo',
      Condition.exportValid,
      'False',
      'ServiceNotFound',
    );
    await eventually(
      () => !cp.snapshots.snapshot?.exports.some((e) => e.name === 'echo'),
      'export out of the snapshot',
    );
    const events = await eventsFor(site.client, 'web', 'echo');
    expect(events.map((e) => `${e.type}/${e.reason}`)).toEqual(
      expect.arrayContaining(['Warning/ServiceNotFound', 'Normal/ServiceFound']),
    );
  });

  it('an Export with spec.host is valid, and observedGeneration follows spec changes', async () => {
    await create(
      site.client,
      Resources.export,
      crd('Export', 'web', 'ext', { host: 'db.example.com', port: 5432 }),
    );
    const first = await waitForCondition<Export>(
      site.client,
      Resources.export,
      'web',
      'ext',
      Condition.exportValid,
      'True',
      'HostSet',
    );
    await site.client.mergePatch('/apis/clusterlink.net/v1alpha1/namespaces/web/exports/ext', {
      spec: { port: 5433 },
    });
    const second = await waitForCondition<Export>(
      site.client,
      Resources.export,
      'web',
      'ext',
      Condition.exportValid,
      'True',
      'HostSet',
    );
    expect(second.metadata.generation).toBeGreaterThan(first.metadata.generation!);
    expect(second.status?.conditions?.[0]?.message).toBe('exports db.example.com:5433');
  });
});

describe('Peer', () => {
  let gateway: https.Server | undefined;
  let port = 0;

  async function startGateway(listenPort: number) {
    const west = await createPeerCertificate(site.ca, 'west');
    const server = https.createServer(
      { ca: site.ca.cert, cert: west.cert, key: west.key, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        if (req.url === '/healthz') {
          res
            .writeHead(200, {
              ClusterLinkPeerLabels: encodePeerLabelsHeader({ region: 'west-2', tier: 'gold' }),
            })
            .end();
        } else res.writeHead(400).end();
      },
    );
    await new Promise<void>((r) => server.listen(listenPort, '127.0.0.1', r));
    return server;
  }

  async function stopGateway() {
    const s = gateway!;
    gateway = undefined;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  afterAll(async () => {
    if (gateway) await stopGateway();
  });

  it('becomes reachable with the remote labels, unreachable when its gateway goes, reachable again when it returns', async () => {
    gateway = await startGateway(0);
    port = (gateway.address() as AddressInfo).port;
    await create(
      site.client,
      Resources.peer,
      crd('Peer', GATEWAY_NS, 'west', { gateways: [{ host: '127.0.0.1', port }] }),
    );
    const up = await waitForCondition<Peer>(
      site.client,
      Resources.peer,
      GATEWAY_NS,
      'west',
      Condition.peerReachable,
      'True',
    );
    expect(up.status?.labels).toEqual({ region: 'west-2', tier: 'gold' });
    expect(up.status?.conditions?.[0]?.message).toMatch(/round trip [\d.]+ ms/);
    await eventually(
      () =>
        cp.snapshots.snapshot?.peers.find(
          (p) => p.name === 'west' && p.reachable && p.labels.tier === 'gold',
        ),
      'reachable peer in the snapshot',
    );

    await stopGateway();
    const down = await waitForCondition<Peer>(
      site.client,
      Resources.peer,
      GATEWAY_NS,
      'west',
      Condition.peerReachable,
      'False',
      'TCPFailure',
      30_000,
    );
    expect(down.status?.conditions?.[0]?.message).toContain(`127.0.0.1:${port}`);
    expect(down.status?.labels).toEqual({ region: 'west-2', tier: 'gold' }); // kept while down
    await eventually(
      () => cp.snapshots.snapshot?.peers.find((p) => p.name === 'west' && !p.reachable),
      'unreachable in the snapshot',
    );

    gateway = await startGateway(port);
    await waitForCondition(
      site.client,
      Resources.peer,
      GATEWAY_NS,
      'west',
      Condition.peerReachable,
      'True',
      undefined,
      30_000,
    );
    const events = await eventsFor(site.client, GATEWAY_NS, 'west');
    expect(events.some((e) => e.type === 'Warning' && e.reason === 'TCPFailure')).toBe(true);
  });

  it('names the failure when the certificate is for another peer', async () => {
    if (!gateway) gateway = await startGateway(0);
    const p = (gateway.address() as AddressInfo).port;
    // The gateway presents "west"'s certificate; a Peer named "north" must refuse it.
    await create(
      site.client,
      Resources.peer,
      crd('Peer', GATEWAY_NS, 'north', { gateways: [{ host: '127.0.0.1', port: p }] }),
    );
    const peer = await waitForCondition<Peer>(
      site.client,
      Resources.peer,
      GATEWAY_NS,
      'north',
      Condition.peerReachable,
      'False',
      undefined,
      30_000,
    );
    expect(['IdentityMismatch', 'TLSFailure']).toContain(peer.status?.conditions?.[0]?.reason);
    await remove(site.client, Resources.peer, GATEWAY_NS, 'north');
    await eventually(
      () => !cp.snapshots.snapshot?.peers.some((x) => x.name === 'north'),
      'north out of the snapshot',
    );
  });
});

describe('policies and clients in the snapshot', () => {
  it('carries policies whose tiers decide as DESIGN.md says: privileged deny over namespaced allow', async () => {
    await ensureNamespace(site.client, 'shop');
    await create(
      site.client,
      Resources.accessPolicy,
      crd('AccessPolicy', 'shop', 'allow-all', {
        action: 'allow',
        from: [{ workloadSelector: {} }],
        to: [{ workloadSelector: {} }],
      }),
    );
    await create(
      site.client,
      Resources.privilegedAccessPolicy,
      crd('PrivilegedAccessPolicy', undefined, 'deny-west', {
        action: 'deny',
        from: [{ workloadSelector: { matchLabels: { [Attr.peerName]: 'west' } } }],
        to: [{ workloadSelector: {} }],
      }),
    );
    const snap = await eventually(
      () => (cp.snapshots.snapshot?.policies.length === 2 ? cp.snapshots.snapshot : undefined),
      'both policies in the snapshot',
    );
    const engine = new PolicyEngine(snap.policies);
    const dst = { [Attr.exportName]: 'cart', [Attr.exportNamespace]: 'shop' };
    expect(engine.decide({ [Attr.peerName]: 'west' }, dst, 'shop')).toMatchObject({
      action: 'deny',
      policy: { kind: 'PrivilegedAccessPolicy', name: 'deny-west' },
    });
    expect(engine.decide({ [Attr.peerName]: 'north' }, dst, 'shop')).toMatchObject({
      action: 'allow',
      policy: { kind: 'AccessPolicy', name: 'allow-all', namespace: 'shop' },
    });
    // The namespaced allow counts only in its own namespace.
    expect(engine.decide({ [Attr.peerName]: 'north' }, dst, 'other')).toMatchObject({
      action: 'deny',
      tier: 'default-deny',
    });
  });

  it('reports a policy the engine cannot use with a Warning Event', async () => {
    await create(
      site.client,
      Resources.accessPolicy,
      crd('AccessPolicy', 'shop', 'sets', {
        action: 'allow',
        from: [{ workloadSets: ['x'] }],
        to: [{ workloadSelector: {} }],
      }),
    );
    const ev = await eventually(async () => {
      const events = await eventsFor(site.client, 'shop', 'sets');
      return events.find((e) => e.reason === 'InvalidPolicy');
    }, 'InvalidPolicy event');
    expect(ev.type).toBe('Warning');
  });

  it('maps client Pods by IP to namespace, service account and labels', async () => {
    await createPod(site.client, 'shop', 'frontend', '10.9.0.7', { app: 'frontend' }, 'front-sa');
    const client = await eventually(
      () => cp.snapshots.snapshot?.clients.find((c) => c.ip === '10.9.0.7'),
      'client in the snapshot',
    );
    expect(client).toEqual({
      ip: '10.9.0.7',
      namespace: 'shop',
      serviceAccount: 'front-sa',
      labels: { app: 'frontend' },
    });
  });

  it('keeps the token key in a Secret and hands it out with this peer identity and labels', async () => {
    const secret = await read<Secret>(site.client, Resources.secret, GATEWAY_NS, 'cl-token-key');
    const snap = cp.snapshots.snapshot!;
    expect(Buffer.from(secret!.data!.tokenKey!, 'base64').length).toBe(32);
    expect(snap.tokenKey).toBe(secret!.data!.tokenKey);
    expect(snap.localPeer).toEqual({ name: 'east', labels: { region: 'east-1' } });
    expect(snap.tls.cert).toBe(site.tls.cert);
  });
});

describe('admin server', () => {
  function get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: cp.adminAddress.port, path }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  }

  it('answers /healthz and /readyz, and exports reconcile, queue and peer metrics', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    const metrics = (await get('/metrics')).body;
    expect(metrics).toMatch(
      /clusterlink_controlplane_reconciles_total\{kind="export",result="success"\} [1-9]/,
    );
    expect(metrics).toMatch(/clusterlink_controlplane_queue_depth\{kind="import"\} \d+/);
    expect(metrics).toMatch(/clusterlink_controlplane_peers_reachable \d+/);
    expect(metrics).toMatch(/clusterlink_controlplane_leader 1/);
  });
});
