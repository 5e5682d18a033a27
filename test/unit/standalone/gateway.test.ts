import * as net from 'node:net';
import { writeFileSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { StandaloneGateway } from '../../../controller/standalone/gateway';
import { heartbeatPeerMonitor } from '../../../controller/peer-monitor';
import {
  echoServer,
  eventually,
  freePort,
  exportYaml,
  get,
  importYaml,
  makeFabric,
  peerYaml,
  policyYaml,
} from './fixtures';

const fast = {
  watch: { debounceMs: 50, rescanMs: 500 },
  health: heartbeatPeerMonitor({
    policy: {
      reachableIntervalMs: 100,
      unreachableIntervalMs: 100,
      failuresToUnreachable: 2,
      successesToReachable: 1,
    },
    timeoutMs: 1000,
  }),
};

async function statusOf(gw: StandaloneGateway) {
  const res = await fetch(`http://127.0.0.1:${gw.adminAddress.port}/status`);
  return (await res.json()) as ReturnType<StandaloneGateway['status']>;
}

jest.setTimeout(60_000);

describe('standalone gateway (real sockets)', () => {
  let fabric: Awaited<ReturnType<typeof makeFabric>>;
  const closers: (() => Promise<void>)[] = [];
  beforeEach(async () => (fabric = await makeFabric(['east', 'west'])));
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    fabric.cleanup();
  });

  async function twoSites() {
    const [east, west] = fabric.sites;
    const echo = await echoServer('east-echo');
    closers.push(() => echo.close());
    east.write('export.yaml', exportYaml('echo', '127.0.0.1', echo.port));
    east.write('policy.yaml', policyYaml('allow-all', 'allow'));
    const eastGw = await StandaloneGateway.start({
      configDir: east.dir,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      adminPort: 0,
      ...fast,
    });
    closers.push(() => eastGw.close(0));
    west.write('peers.yaml', peerYaml('east', '127.0.0.1', eastGw.gatewayAddress.port));
    west.write('policy.yaml', policyYaml('allow-all', 'allow'));
    return { east, west, eastGw, echo };
  }

  it('carries a request across two gateways and reloads a changed directory', async () => {
    const { west, eastGw } = await twoSites();
    const port = await freePort();
    west.write('import.yaml', importYaml('echo', port, [{ peer: 'east', exportName: 'echo' }]));
    const westGw = await StandaloneGateway.start({
      configDir: west.dir,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      adminPort: 0,
      ...fast,
    });
    closers.push(() => westGw.close(0));
    expect(westGw.peerName).toBe('west');
    expect(westGw.importAddress('default', 'echo')).toEqual({ host: '127.0.0.1', port });
    expect(await eventually(() => get('127.0.0.1', port), 15000, 'request through the tunnel')).toBe(
      'east-echo',
    );

    // Status over the admin port: peer reachable, import listening.
    const status = await eventually(async () => {
      const s = await statusOf(westGw);
      return s.peers[0]?.reachable ? s : undefined;
    });
    expect(status.peer).toEqual({ name: 'west', labels: {} });
    expect(status.peers[0]).toMatchObject({
      name: 'east',
      reachable: true,
      gateways: [`127.0.0.1:${eastGw.gatewayAddress.port}`],
    });
    expect(status.imports[0]).toMatchObject({
      name: 'echo',
      port,
      listen: `127.0.0.1:${port}`,
      lbScheme: 'round-robin',
      valid: true,
    });

    // A deny policy added to the directory takes effect without a restart.
    const version = westGw.snapshotVersion;
    west.write('deny.yaml', policyYaml('deny-east', 'deny'));
    await eventually(
      () => (westGw.snapshotVersion > version ? true : undefined),
      10000,
      'reload after adding deny.yaml',
    );
    await expect(get('127.0.0.1', port)).rejects.toThrow();
    unlinkSync(path.join(west.dir, 'deny.yaml'));
    expect(await eventually(() => get('127.0.0.1', port), 10000, 'traffic after removing the deny')).toBe(
      'east-echo',
    );

    // The import moves to another port when its file changes.
    const port2 = await freePort();
    west.write('import.yaml', importYaml('echo', port2, [{ peer: 'east', exportName: 'echo' }]));
    expect(await eventually(() => get('127.0.0.1', port2), 10000, 'request on the moved import')).toBe(
      'east-echo',
    );
    await expect(get('127.0.0.1', port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('reports bad YAML and invalid objects by file and keeps serving', async () => {
    const { west } = await twoSites();
    const port = await freePort();
    west.write('import.yaml', importYaml('echo', port, [{ peer: 'east', exportName: 'echo' }]));
    const westGw = await StandaloneGateway.start({
      configDir: west.dir,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      adminPort: 0,
      ...fast,
    });
    closers.push(() => westGw.close(0));
    expect(await eventually(() => get('127.0.0.1', port))).toBe('east-echo');

    const version = westGw.snapshotVersion;
    const other = await freePort();
    writeFileSync(path.join(west.dir, 'broken.yaml'), 'kind: Import\nmetadata: { name: [oops\n');
    writeFileSync(
      path.join(west.dir, 'more.yaml'),
      importYaml('other', other, [{ peer: 'east', exportName: 'echo' }]) +
        '---\n' +
        importYaml('bad', 70000, [{ peer: 'east', exportName: 'echo' }]),
    );
    await eventually(() => (westGw.snapshotVersion > version ? true : undefined), 10000, 'reload');
    const status = await statusOf(westGw);
    expect(status.invalid).toEqual([
      expect.objectContaining({
        file: 'broken.yaml',
        index: 0,
        error: expect.stringMatching(/^YAML syntax error/),
      }),
      expect.objectContaining({
        file: 'more.yaml',
        index: 1,
        kind: 'Import',
        name: 'bad',
        error: 'spec.port: must be an integer 1-65535 (got number 70000)',
      }),
    ]);
    expect(status.imports.map((i) => i.name).sort()).toEqual(['echo', 'other']);
    expect(await get('127.0.0.1', port)).toBe('east-echo');
    expect(await eventually(() => get('127.0.0.1', other))).toBe('east-echo');
  });

  it('refuses to start with unusable certificates, naming the file', async () => {
    const [east] = fabric.sites;
    writeFileSync(path.join(east.dir, 'ca.pem'), 'not a certificate');
    await expect(
      StandaloneGateway.start({ configDir: east.dir, gatewayPort: 0, adminPort: 0 }),
    ).rejects.toThrow(`${path.join(east.dir, 'ca.pem')}: not a PEM certificate`);
  });

  it('marks a peer unreachable when its gateway stops, with the reason', async () => {
    const { west, eastGw } = await twoSites();
    west.write('import.yaml', importYaml('echo', await freePort(), [{ peer: 'east', exportName: 'echo' }]));
    const westGw = await StandaloneGateway.start({
      configDir: west.dir,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      adminPort: 0,
      ...fast,
    });
    closers.push(() => westGw.close(0));
    await eventually(
      () => (westGw.status().peers[0]?.reachable === true ? true : undefined),
      10000,
      'east reachable',
    );
    await eastGw.close(0);
    const peer = await eventually(
      () => {
        const p = westGw.status().peers[0];
        return p?.reachable === false ? p : undefined;
      },
      10000,
      'east unreachable',
    );
    expect(peer.reason).toBe('TCPFailure');
    expect(peer.message).toContain('ECONNREFUSED');
  });
});

describe('standalone relay site (import, then export the import)', () => {
  it('carries a request client -> relay -> server', async () => {
    const fabric = await makeFabric(['client', 'relay', 'server']);
    const [client, relay, server] = fabric.sites;
    const closers: (() => Promise<void>)[] = [];
    try {
      const echo = await echoServer('server-echo');
      closers.push(() => echo.close());
      server.write(
        'all.yaml',
        exportYaml('echo', '127.0.0.1', echo.port) + '---\n' + policyYaml('allow-all', 'allow'),
      );
      const serverGw = await StandaloneGateway.start({
        configDir: server.dir,
        gatewayHost: '127.0.0.1',
        gatewayPort: 0,
        adminPort: 0,
        ...fast,
      });
      closers.push(() => serverGw.close(0));
      const relayPort = await freePort();
      relay.write(
        'all.yaml',
        [
          peerYaml('server', '127.0.0.1', serverGw.gatewayAddress.port),
          importYaml('echo', relayPort, [{ peer: 'server', exportName: 'echo' }]),
          exportYaml('echo', '127.0.0.1', relayPort),
          policyYaml('allow-all', 'allow'),
        ].join('---\n'),
      );
      const relayGw = await StandaloneGateway.start({
        configDir: relay.dir,
        gatewayHost: '127.0.0.1',
        gatewayPort: 0,
        adminPort: 0,
        ...fast,
      });
      closers.push(() => relayGw.close(0));
      const clientPort = await freePort();
      client.write(
        'all.yaml',
        [
          peerYaml('relay', '127.0.0.1', relayGw.gatewayAddress.port),
          importYaml('echo', clientPort, [{ peer: 'relay', exportName: 'echo' }]),
          policyYaml('allow-all', 'allow'),
        ].join('---\n'),
      );
      const clientGw = await StandaloneGateway.start({
        configDir: client.dir,
        gatewayHost: '127.0.0.1',
        gatewayPort: 0,
        adminPort: 0,
        ...fast,
      });
      closers.push(() => clientGw.close(0));
      expect(await eventually(() => get('127.0.0.1', clientPort), 15000, 'request through the relay')).toBe(
        'server-echo',
      );
    } finally {
      for (const close of closers.reverse()) await close();
      fabric.cleanup();
    }
  });
});

describe('standalone gateway: an Import port in use', () => {
  it('reports the import as not listening and listens once the port is free', async () => {
    const fabric = await makeFabric(['west']);
    const [west] = fabric.sites;
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    west.write('import.yaml', importYaml('echo', port, [{ peer: 'east', exportName: 'echo' }]));
    const gw = await StandaloneGateway.start({
      configDir: west.dir,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      adminPort: 0,
      retryMs: 100,
      peerLabels: { region: 'eu' },
      ...fast,
    });
    try {
      const status = gw.status();
      expect(status.imports[0]).toMatchObject({
        valid: false,
        message: expect.stringContaining(`not listening on port ${port}`),
      });
      expect(status.errors.join()).toContain('EADDRINUSE');
      await new Promise((resolve) => blocker.close(resolve));
      await eventually(
        () => (gw.importAddress('default', 'echo') ? true : undefined),
        10000,
        'the import to listen',
      );
      expect(gw.status().imports[0]).toMatchObject({ valid: true, listen: `127.0.0.1:${port}` });
      expect(gw.status().errors).toEqual([]);
    } finally {
      await gw.close(0);
      blocker.close();
      fabric.cleanup();
    }
  });
});
