/**
 * Live configuration, certificate reload, graceful shutdown, the admin server and the process
 * entry point.
 */
import { once } from 'node:events';
import * as http from 'node:http';
import { Registry } from 'prom-client';
import { createPeerCertificate } from '../../../cli/pki/certificates';
import type { GatewaySnapshot, SnapshotSource } from '../../../kernel/api/snapshot';
import type { PolicyObject } from '../../../kernel/policy/types';
import { DataPlane, runDataPlane } from '../../../dataplane';
import { startAdminServer } from '../../../kernel/admin';
import { DataPlaneErrorCode } from '../../../dataplane/errors';
import {
  ALLOW_ALL,
  Cleanup,
  collect,
  connectTo,
  exchange,
  exportOf,
  importAddress,
  importOf,
  makePki,
  peer,
  snapshotFor,
  startDataPlane,
  startEcho,
  tlsTo,
  type Pki,
} from './harness';

let pki: Pki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await makePki(['east', 'west']);
});
afterEach(() => cleanup.run());

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      })
      .on('error', reject);
  });
}

async function pair(
  options: { forceHttp1?: boolean; eastPolicies?: PolicyObject[]; offerH2?: boolean } = {},
) {
  const echo = await startEcho(cleanup);
  const west = await startDataPlane(cleanup, { offerH2: options.offerH2 });
  const east = await startDataPlane(cleanup, { forceHttp1: options.forceHttp1 });
  await west.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', echo.port)] }));
  let version = 100;
  const eastSnapshot = (extra: Partial<Parameters<typeof snapshotFor>[1]> = {}) =>
    snapshotFor(pki, {
      name: 'east',
      version: version++,
      peers: [peer('west', west)],
      imports: [importOf('svc', [{ peer: 'west' }])],
      policies: options.eastPolicies,
      ...extra,
    });
  await east.applySnapshot(eastSnapshot());
  return { echo, west, east, eastSnapshot };
}

/** A tunnel that is open end to end (an echo came back). */
async function openTunnel(east: DataPlane) {
  const client = await connectTo(importAddress(east, 'svc'));
  const outcome = collect(client);
  client.write('one');
  await once(client, 'data');
  return { client, outcome };
}

describe('live configuration', () => {
  it('removing an Import closes its listener; established tunnels continue', async () => {
    const { east, eastSnapshot } = await pair();
    const address = importAddress(east, 'svc');
    const { client, outcome } = await openTunnel(east);
    await east.applySnapshot(eastSnapshot({ imports: [] }));
    expect(east.importAddress('default', 'svc')).toBeUndefined();
    await expect(connectTo(address)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    client.end('two');
    expect((await outcome).data.toString()).toBe('onetwo');
  });

  it('a policy change applies to new connections, not to established ones', async () => {
    const { east, eastSnapshot } = await pair();
    const { client, outcome } = await openTunnel(east);
    await east.applySnapshot(eastSnapshot({ policies: [] })); // default deny
    const refused = await exchange(importAddress(east, 'svc'), Buffer.from('x')).catch(
      (err: NodeJS.ErrnoException) => ({
        end: 'error' as const,
        error: err,
        data: Buffer.alloc(0),
      }),
    );
    expect(refused.error?.code).toBe('ECONNRESET');
    client.end('two');
    expect((await outcome).data.toString()).toBe('onetwo');
    await east.applySnapshot(eastSnapshot({ policies: [ALLOW_ALL] }));
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('back'))).data.toString()).toBe('back');
  });

  it("follows a peer's address change", async () => {
    const { east, eastSnapshot } = await pair();
    const echo2 = await startEcho(cleanup);
    const west2 = await startDataPlane(cleanup);
    await west2.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', echo2.port)] }));
    await east.applySnapshot(eastSnapshot({ peers: [peer('west', west2)] }));
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('moved'))).data.toString()).toBe('moved');
    expect(echo2.accepted).toBe(1);
  });

  it('moves a listener when the Import port changes', async () => {
    const { east, eastSnapshot } = await pair();
    const before = importAddress(east, 'svc');
    const probe = await connectTo({ host: '127.0.0.1', port: 0 }).catch(() => undefined);
    probe?.destroy();
    await east.applySnapshot(
      eastSnapshot({ imports: [importOf('svc', [{ peer: 'west' }], { listenHost: '127.0.0.2' })] }),
    );
    const after = importAddress(east, 'svc');
    expect(after.host).toBe('127.0.0.2');
    await expect(connectTo(before)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await exchange(after, Buffer.from('here'))).data.toString()).toBe('here');
  });

  it('ignores stale snapshots and refuses invalid ones, keeping the last good one', async () => {
    const { east, eastSnapshot } = await pair();
    const good = east.snapshotVersion!;
    await east.applySnapshot({ ...eastSnapshot({ imports: [] }), version: good - 1 });
    expect(east.importAddress('default', 'svc')).toBeDefined();
    const bad = { ...eastSnapshot(), tokenKey: 'c2hvcnQ=' } as GatewaySnapshot;
    await expect(east.applySnapshot(bad)).rejects.toMatchObject({ code: DataPlaneErrorCode.invalidSnapshot });
    const wrongCert = {
      ...eastSnapshot(),
      tls: { ...eastSnapshot().tls, cert: pki.certs.west.cert, key: pki.certs.west.key },
    };
    await expect(east.applySnapshot(wrongCert)).rejects.toMatchObject({
      code: DataPlaneErrorCode.invalidSnapshot,
    });
    expect(east.snapshotVersion).toBe(good);
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('still'))).data.toString()).toBe('still');
  });

  it('reports an import port it cannot listen on, and serves the rest', async () => {
    const { east, eastSnapshot } = await pair();
    const taken = importAddress(east, 'svc').port;
    const clash = importOf('other', [{ peer: 'west', exportName: 'svc' }], { listenPort: taken });
    await expect(
      east.applySnapshot(
        eastSnapshot({ imports: [importOf('svc', [{ peer: 'west' }], { listenPort: taken }), clash] }),
      ),
    ).rejects.toMatchObject({ code: DataPlaneErrorCode.invalidSnapshot });
    const elsewhere = importOf('other', [{ peer: 'west', exportName: 'svc' }], {
      listenPort: taken,
      listenHost: '127.0.0.3',
    });
    await east.applySnapshot(eastSnapshot({ imports: [importOf('svc', [{ peer: 'west' }]), elsewhere] }));
    expect((await exchange(importAddress(east, 'other'), Buffer.from('ok'))).data.toString()).toBe('ok');
  });
});

describe('certificates', () => {
  it.each([
    ['h2', false],
    ['http/1.1', true],
  ] as const)('reload without dropping established tunnels (%s)', async (_p, forceHttp1) => {
    const { east, west, eastSnapshot } = await pair({ forceHttp1 });
    const { client, outcome } = await openTunnel(east);
    const sessionsBefore = east.pooledSessions;
    const newEast = await createPeerCertificate(pki.ca, 'east');
    const newWest = await createPeerCertificate(pki.ca, 'west');
    await east.applySnapshot(eastSnapshot({ tls: newEast }));
    await west.applySnapshot(
      snapshotFor(pki, { name: 'west', tls: newWest, exports: west['current']!.snapshot.exports }),
    );
    // New connections use the new certificates (and a new pooled session).
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('new'))).data.toString()).toBe('new');
    if (!forceHttp1) expect(sessionsBefore).toBe(1);
    client.end('two');
    const result = await outcome;
    expect(result.end).toBe('fin');
    expect(result.data.toString()).toBe('onetwo');
  });
});

describe('protocol negotiation', () => {
  it('falls back to the compatible protocol when the remote offers only http/1.1', async () => {
    const { east } = await pair({ offerH2: false });
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('compat'))).data.toString()).toBe(
      'compat',
    );
    expect(east.pooledSessions).toBe(0);
    const setups = await east.metrics.setupSeconds.get();
    const count = setups.values.find(
      (v) => v.metricName?.endsWith('_count') && v.labels.protocol === 'http/1.1',
    );
    expect(count?.value).toBe(1);
  });

  it('replaces a pooled session when the remote gateway restarts on the same address', async () => {
    const { east, west, echo } = await pair();
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('before'))).data.toString()).toBe(
      'before',
    );
    const port = west.gatewayAddress.port;
    west.destroy();
    await west.close(0);
    const again = await startDataPlane(cleanup, { gatewayPort: port });
    await again.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', echo.port)] }));
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('after'))).data.toString()).toBe('after');
    expect(east.pooledSessions).toBe(1);
  });

  it('resumes TLS sessions for the connections of the compatible protocol', async () => {
    const { east, west } = await pair({ offerH2: false });
    for (const text of ['a', 'b', 'c']) {
      expect((await exchange(importAddress(east, 'svc'), Buffer.from(text))).data.toString()).toBe(text);
    }
    const handshakes = (await west.metrics.tlsHandshakes.get()).values;
    const resumed = handshakes.filter((v) => v.labels.resumed === 'true').reduce((n, v) => n + v.value, 0);
    expect(resumed).toBeGreaterThanOrEqual(2);
  });

  it('uses one pooled h2 session for many tunnels', async () => {
    const { east } = await pair();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => exchange(importAddress(east, 'svc'), Buffer.from(`m${i}`))),
    );
    expect(east.pooledSessions).toBe(1);
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, lets tunnels drain within the grace period, then resets the rest', async () => {
    const { east } = await pair();
    const address = importAddress(east, 'svc');
    const draining = await openTunnel(east);
    const lingering = await openTunnel(east);
    const closed = east.close(1000);
    await expect(connectTo(address)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    draining.client.end('two'); // still flows during the grace period
    expect((await draining.outcome).data.toString()).toBe('onetwo');
    await closed;
    const rest = await lingering.outcome;
    expect(rest.end).toBe('error');
    expect(east.activeTunnels).toEqual({ egress: 0, ingress: 0 });
  });

  it('refuses handshakes before the first snapshot, then serves', async () => {
    const dp = await startDataPlane(cleanup);
    await expect(tlsTo(dp, pki.certs.east, { ca: pki.ca.cert, servername: 'west' })).rejects.toBeDefined();
    expect(dp.ready).toBe(false);
    await dp.applySnapshot(snapshotFor(pki, { name: 'west' }));
    expect(dp.ready).toBe(true);
    const socket = await tlsTo(dp, pki.certs.east, { ca: pki.ca.cert, servername: 'west' });
    socket.destroy();
  });

  it('close() and destroy() are idempotent', async () => {
    const dp = new DataPlane({ gatewayHost: '127.0.0.1', gatewayPort: 0 });
    await dp.start();
    await Promise.all([dp.close(0), dp.close(0)]);
    dp.destroy();
    dp.destroy();
    await expect(dp.applySnapshot(snapshotFor(pki, { name: 'east' }))).rejects.toMatchObject({
      code: DataPlaneErrorCode.closed,
    });
  });
});

describe('admin server and process', () => {
  it('serves /healthz, /readyz (after the first snapshot) and /metrics', async () => {
    let deliver!: (s: GatewaySnapshot) => void;
    const source: SnapshotSource = {
      subscribe(listener) {
        deliver = listener;
        return () => undefined;
      },
    };
    const registry = new Registry();
    const proc = await runDataPlane({
      source,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      adminHost: '127.0.0.1',
      adminPort: 0,
      registry,
    });
    cleanup.add(() => proc.close(0));
    const port = proc.admin.address.port;
    expect((await get(port, '/healthz')).status).toBe(200);
    expect((await get(port, '/readyz')).status).toBe(503);
    const echo = await startEcho(cleanup);
    deliver(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', echo.port)] }));
    await new Promise<void>((resolve) => {
      const check = () => (proc.dataPlane.ready ? resolve() : setTimeout(check, 10));
      check();
    });
    expect((await get(port, '/readyz')).status).toBe(200);

    // Drive one tunnel through it, then read the metrics.
    const east = await startDataPlane(cleanup);
    await east.applySnapshot(
      snapshotFor(pki, {
        name: 'east',
        peers: [peer('west', proc.dataPlane)],
        imports: [importOf('svc', [{ peer: 'west' }])],
      }),
    );
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('metered'))).data.toString()).toBe(
      'metered',
    );
    await new Promise<void>((resolve) => {
      const check = () => (proc.dataPlane.activeTunnels.ingress === 0 ? resolve() : setTimeout(check, 10));
      check();
    });
    const metrics = (await get(port, '/metrics')).body;
    expect(metrics).toMatch(
      /clusterlink_dataplane_connections_opened_total\{direction="ingress",service="default\/svc",peer="east"\} 1/,
    );
    expect(metrics).toMatch(
      /clusterlink_dataplane_bytes_total\{direction="ingress",service="default\/svc",peer="east",flow="in"\} 7/,
    );
    expect(metrics).toMatch(
      /clusterlink_dataplane_authorization_decisions_total\{side="ingress",result="allow",reason="privileged-allow"\} 1/,
    );
    expect(metrics).toMatch(/clusterlink_dataplane_snapshot_version \d+/);
    expect((await get(port, '/nope')).status).toBe(404);
  });

  it('startAdminServer alone', async () => {
    const admin = await startAdminServer({
      registry: new Registry(),
      isReady: () => true,
      host: '127.0.0.1',
      port: 0,
    });
    cleanup.add(() => admin.close());
    expect((await get(admin.address.port, '/readyz')).status).toBe(200);
  });
});

describe('attributes in decisions', () => {
  const allowClientsIn = (namespace: string): PolicyObject => ({
    name: 'frontend-only',
    spec: {
      action: 'allow',
      from: [{ workloadSelector: { matchLabels: { 'client.clusterlink.net/namespace': namespace } } }],
      to: [{ workloadSelector: {} }],
    },
  });

  it('client attributes (found by source IP) reach the exporting gateway’s decision', async () => {
    const echo = await startEcho(cleanup);
    const west = await startDataPlane(cleanup);
    const east = await startDataPlane(cleanup);
    await west.applySnapshot(
      snapshotFor(pki, {
        name: 'west',
        exports: [exportOf('svc', echo.port)],
        policies: [allowClientsIn('frontend')],
      }),
    );
    const client = (namespace: string) => ({
      ip: '127.0.0.1',
      namespace,
      serviceAccount: 'default',
      labels: { app: 'web' },
    });
    const configure = (clients: ReturnType<typeof client>[]) =>
      east.applySnapshot(
        snapshotFor(pki, {
          name: 'east',
          peers: [peer('west', west)],
          imports: [importOf('svc', [{ peer: 'west' }])],
          clients,
        }),
      );
    await configure([client('frontend')]);
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('in'))).data.toString()).toBe('in');
    for (const clients of [[client('backend')], []]) {
      await configure(clients); // another namespace, then an unidentified client: west denies
      const code = await exchange(importAddress(east, 'svc'), Buffer.from('x')).then(
        (o) => o.error?.code,
        (err: NodeJS.ErrnoException) => err.code,
      );
      expect(code).toBe('ECONNRESET');
    }
    const decisions = (await west.metrics.decisions.get()).values;
    expect(decisions.find((v) => v.labels.result === 'allow')?.value).toBe(1);
    expect(decisions.filter((v) => v.labels.result === 'deny').reduce((n, v) => n + v.value, 0)).toBe(2);
  });

  it('the Import’s labels are the export labels of the egress decision', async () => {
    const echo = await startEcho(cleanup);
    const west = await startDataPlane(cleanup);
    const east = await startDataPlane(cleanup);
    await west.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', echo.port)] }));
    const goldOnly: PolicyObject = {
      name: 'gold-only',
      namespace: 'default',
      spec: {
        action: 'allow',
        from: [{ workloadSelector: {} }],
        to: [{ workloadSelector: { matchLabels: { 'export.clusterlink.net/labels.tier': 'gold' } } }],
      },
    };
    const configure = (tier: string) =>
      east.applySnapshot(
        snapshotFor(pki, {
          name: 'east',
          peers: [peer('west', west)],
          imports: [importOf('svc', [{ peer: 'west' }], { labels: { tier } })],
          policies: [goldOnly],
        }),
      );
    await configure('gold');
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('gold'))).data.toString()).toBe('gold');
    await configure('silver');
    const code = await exchange(importAddress(east, 'svc'), Buffer.from('x')).then(
      (o) => o.error?.code,
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(code).toBe('ECONNRESET');
  });
});
