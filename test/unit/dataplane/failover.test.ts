/**
 * Source ordering and failover at the importing gateway, with three gateways in one process: east
 * imports `svc` from west and north, whose services announce themselves with a banner and then echo.
 */
import { once } from 'node:events';
import * as net from 'node:net';
import type { SnapshotPeer } from '../../../kernel/api/snapshot';
import type { PolicyObject } from '../../../kernel/policy/types';
import { DataPlane } from '../../../dataplane';
import {
  ALLOW_ALL,
  Cleanup,
  collect,
  connectTo,
  denyFrom,
  exchange,
  exportOf,
  importAddress,
  importOf,
  makePki,
  peer,
  snapshotFor,
  startDataPlane,
  startServer,
  type Backend,
  type Pki,
} from './harness';

let pki: Pki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await makePki(['east', 'west', 'north']);
});
afterEach(() => cleanup.run());

const denyTo = (peerName: string): PolicyObject => ({
  name: `deny-to-${peerName}`,
  spec: {
    action: 'deny',
    from: [{ workloadSelector: {} }],
    to: [{ workloadSelector: { matchLabels: { 'peer.clusterlink.net/name': peerName } } }],
  },
});

function bannerService(name: string): Promise<Backend> {
  return startServer(cleanup, (socket) => {
    socket.write(`${name}:`);
    socket.pipe(socket);
  });
}

describe.each([
  ['h2', false],
  ['http/1.1', true],
] as const)('failover over %s', (_p, forceHttp1) => {
  interface Fabric {
    east: DataPlane;
    west: DataPlane;
    north: DataPlane;
    westService: Backend;
    northService: Backend;
    configureEast(options?: {
      policies?: PolicyObject[];
      peers?: SnapshotPeer[];
      lbScheme?: 'static' | 'round-robin';
    }): Promise<void>;
  }

  async function fabric(options: { westPolicies?: PolicyObject[] } = {}): Promise<Fabric> {
    const westService = await bannerService('west');
    const northService = await bannerService('north');
    const west = await startDataPlane(cleanup);
    const north = await startDataPlane(cleanup);
    const east = await startDataPlane(cleanup, { forceHttp1 });
    await west.applySnapshot(
      snapshotFor(pki, {
        name: 'west',
        exports: [exportOf('svc', westService.port)],
        policies: options.westPolicies,
      }),
    );
    await north.applySnapshot(
      snapshotFor(pki, { name: 'north', exports: [exportOf('svc', northService.port)] }),
    );
    const configureEast: Fabric['configureEast'] = (o = {}) =>
      east.applySnapshot(
        snapshotFor(pki, {
          name: 'east',
          peers: o.peers ?? [peer('west', west), peer('north', north)],
          imports: [
            importOf('svc', [{ peer: 'west' }, { peer: 'north' }], { lbScheme: o.lbScheme ?? 'static' }),
          ],
          policies: o.policies ?? [ALLOW_ALL],
        }),
      );
    await configureEast();
    return { east, west, north, westService, northService, configureEast };
  }

  const ask = async (east: DataPlane, text = 'hello') =>
    (await exchange(importAddress(east, 'svc'), Buffer.from(text))).data.toString();

  it('uses the first source in static order when it works', async () => {
    const f = await fabric();
    expect(await ask(f.east)).toBe('west:hello');
  });

  it('fails over when the first remote refuses (ingress policy), invisibly to a client that already sent bytes', async () => {
    const f = await fabric({ westPolicies: [ALLOW_ALL, denyFrom('east')] });
    const client = await connectTo(importAddress(f.east, 'svc'));
    const result = collect(client);
    client.end('early bytes'); // sent before any tunnel exists
    const outcome = await result;
    expect(outcome.end).toBe('fin');
    expect(outcome.data.toString()).toBe('north:early bytes');
    expect(f.westService.accepted).toBe(0);
  });

  it('fails over when the first remote is down', async () => {
    const f = await fabric();
    await f.west.close(0);
    expect(await ask(f.east)).toBe('north:hello');
  });

  it('fails over when the first remote cannot reach its export target', async () => {
    const f = await fabric();
    await f.westService.close(); // west's export target now refuses connections
    await f.west.applySnapshot(
      snapshotFor(pki, { name: 'west', exports: [exportOf('svc', f.westService.port)] }),
    );
    expect(await ask(f.east)).toBe('north:hello');
    const errors = (await f.west.metrics.errors.get()).values;
    expect(errors.find((v) => v.labels.code === 'CL_ERR_EXPORT_UNREACHABLE')?.value).toBe(1);
  });

  it('skips a source denied by the local (egress) policy without contacting it', async () => {
    const f = await fabric();
    await f.configureEast({ policies: [ALLOW_ALL, denyTo('west')] });
    expect(await ask(f.east)).toBe('north:hello');
    const westDecisions = await f.west.metrics.decisions.get();
    expect(westDecisions.values.reduce((n, v) => n + v.value, 0)).toBe(0);
  });

  it('tries sources on unreachable peers last', async () => {
    const f = await fabric();
    await f.configureEast({ peers: [peer('west', f.west, { reachable: false }), peer('north', f.north)] });
    expect(await ask(f.east)).toBe('north:hello');
    expect(f.westService.accepted).toBe(0);
  });

  it('alternates sources with round-robin', async () => {
    const f = await fabric();
    await f.configureEast({ lbScheme: 'round-robin' });
    const answers = [await ask(f.east), await ask(f.east), await ask(f.east), await ask(f.east)];
    expect(answers.filter((a) => a === 'west:hello')).toHaveLength(2);
    expect(answers.filter((a) => a === 'north:hello')).toHaveLength(2);
  });

  it('refuses a gateway whose certificate names another peer, and fails over', async () => {
    const f = await fabric();
    // east believes west lives at north's address: the server certificate says "north".
    const impostor: SnapshotPeer = { ...peer('west', f.north) };
    await f.configureEast({ peers: [impostor, peer('north', f.north)] });
    expect(await ask(f.east)).toBe('north:hello');
    expect(f.northService.accepted).toBe(1);
  });

  it('resets the client when no source works', async () => {
    const f = await fabric();
    await f.configureEast({ policies: [] }); // default deny at east
    // The reset can come so fast that it surfaces as a failed connect: either way, ECONNRESET.
    const code = await connectTo(importAddress(f.east, 'svc')).then(
      async (client) => {
        const result = collect(client);
        client.write('anyone?');
        return (await result).error?.code;
      },
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(code).toBe('ECONNRESET');
    expect(f.westService.accepted + f.northService.accepted).toBe(0);
  });

  it('enforces the per-peer tunnel limit at the exporting gateway', async () => {
    const westService = await bannerService('west');
    const west = await startDataPlane(cleanup, { limits: { maxTunnelsPerPeer: 1 } });
    const east = await startDataPlane(cleanup, { forceHttp1 });
    await west.applySnapshot(
      snapshotFor(pki, { name: 'west', exports: [exportOf('svc', westService.port)] }),
    );
    await east.applySnapshot(
      snapshotFor(pki, {
        name: 'east',
        peers: [peer('west', west)],
        imports: [importOf('svc', [{ peer: 'west' }])],
      }),
    );
    const first = await connectTo(importAddress(east, 'svc'));
    await once(first, 'data'); // tunnel open
    const code = await connectTo(importAddress(east, 'svc')).then(
      async (second) => (await collect(second)).error?.code,
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(code).toBe('ECONNRESET');
    first.end();
    await once(first, 'close');
    await new Promise<void>((resolve) => {
      const check = () => (west.activeTunnels.ingress === 0 ? resolve() : setTimeout(check, 10));
      check();
    });
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('again'))).data.toString()).toBe(
      'west:again',
    );
  });
});

describe('a remote gateway that vanishes without a goodbye', () => {
  /** A TCP hop in front of a gateway; `vanish()` ends every connection (FIN, no h2 GOAWAY) as a killed process would. */
  async function hop(target: { port: number }) {
    const pairs = new Set<[net.Socket, net.Socket]>();
    const server = net.createServer({ allowHalfOpen: true }, (inbound) => {
      const outbound = net.connect({ host: '127.0.0.1', port: target.port });
      const pair: [net.Socket, net.Socket] = [inbound, outbound];
      pairs.add(pair);
      inbound.pipe(outbound).on('error', () => undefined);
      outbound.pipe(inbound).on('error', () => undefined);
      inbound.on('error', () => undefined);
      outbound.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup.add(() => server.close());
    return {
      port: (server.address() as net.AddressInfo).port,
      vanish() {
        server.close();
        for (const [inbound, outbound] of pairs) {
          outbound.destroy();
          inbound.end();
        }
      },
    };
  }

  it('fails over on the next connection instead of waiting for the tunnel-open timeout', async () => {
    const westService = await bannerService('west');
    const northService = await bannerService('north');
    const west = await startDataPlane(cleanup);
    const north = await startDataPlane(cleanup);
    // A timeout far beyond the test's own: waiting for it would fail the test.
    const east = await startDataPlane(cleanup, { limits: { tunnelOpenTimeoutMs: 120_000 } });
    await west.applySnapshot(
      snapshotFor(pki, { name: 'west', exports: [exportOf('svc', westService.port)] }),
    );
    await north.applySnapshot(
      snapshotFor(pki, { name: 'north', exports: [exportOf('svc', northService.port)] }),
    );
    const westHop = await hop(west.gatewayAddress);
    await east.applySnapshot(
      snapshotFor(pki, {
        name: 'east',
        peers: [
          peer('west', west, { gateways: [{ host: '127.0.0.1', port: westHop.port }] }),
          peer('north', north),
        ],
        imports: [importOf('svc', [{ peer: 'west' }, { peer: 'north' }], { lbScheme: 'static' })],
        policies: [ALLOW_ALL],
      }),
    );
    const ask = async () => (await exchange(importAddress(east, 'svc'), Buffer.from('hi'))).data.toString();
    expect(await ask()).toBe('west:hi');
    expect(east.pooledSessions).toBe(1);

    westHop.vanish();
    expect(await ask()).toBe('north:hi');
  });
});
