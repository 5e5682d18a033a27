import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { StandaloneGateway } from '../../../controller/standalone/gateway';
import { heartbeatPeerMonitor } from '../../../controller/peer-monitor';
import { formatStatus } from '../../../cli/status/format';
import { rttFrom } from '../../../cli/status/kube-source';
import type { StatusReport } from '../../../controller/standalone/report';
import {
  echoServer,
  eventually,
  freePort,
  exportYaml,
  importYaml,
  makeFabric,
  peerYaml,
  policyYaml,
} from '../standalone/fixtures';
import { cli } from './helpers';

jest.setTimeout(60_000);

const fast = {
  watch: { debounceMs: 50, rescanMs: 500 },
  health: heartbeatPeerMonitor({
    policy: {
      reachableIntervalMs: 100,
      unreachableIntervalMs: 100,
      failuresToUnreachable: 2,
      successesToReachable: 1,
    },
  }),
};

describe('clusterlink status --gateway', () => {
  let fabric: Awaited<ReturnType<typeof makeFabric>>;
  const closers: (() => Promise<void>)[] = [];
  let westAdmin: string;
  let gonePort: number;
  let importPort: number;

  beforeAll(async () => {
    fabric = await makeFabric(['east', 'west']);
    const [east, west] = fabric.sites;
    const echo = await echoServer('east');
    closers.push(() => echo.close());
    east.write(
      'all.yaml',
      exportYaml('echo', '127.0.0.1', echo.port) + '---\n' + policyYaml('allow-all', 'allow'),
    );
    const eastGw = await StandaloneGateway.start({
      configDir: east.dir,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      adminPort: 0,
      peerLabels: { region: 'us' },
      ...fast,
    });
    closers.push(() => eastGw.close(0));
    gonePort = await freePort();
    west.write(
      'peers.yaml',
      peerYaml('east', '127.0.0.1', eastGw.gatewayAddress.port) +
        '---\n' +
        peerYaml('gone', '127.0.0.1', gonePort),
    );
    importPort = await freePort();
    west.write('import.yaml', importYaml('echo', importPort, [{ peer: 'east', exportName: 'echo' }]));
    west.write('policy.yaml', policyYaml('deny-gone', 'deny', 'gone'));
    west.write(
      'bad.yaml',
      'apiVersion: clusterlink.net/v1alpha1\nkind: Export\nmetadata: { name: x }\nspec: { port: 80 }\n',
    );
    const westGw = await StandaloneGateway.start({
      configDir: west.dir,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      adminPort: 0,
      ...fast,
    });
    closers.push(() => westGw.close(0));
    westAdmin = `http://127.0.0.1:${westGw.adminAddress.port}`;
    await eventually(() => {
      const s = westGw.status();
      return s.peers.find((p) => p.name === 'east')?.reachable === true &&
        s.peers.find((p) => p.name === 'gone')?.reachable === false
        ? true
        : undefined;
    });
  });
  afterAll(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    fabric.cleanup();
  });

  it('prints one screen: peers with reachability and why, imports, policies, invalid objects', async () => {
    const r = await cli(['status', '--gateway', westAdmin]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Site west \(standalone gateway on 127\.0\.0\.1:\d+, config version \d+\)/);
    expect(r.stdout).toMatch(/\neast +yes +[\d.]+ms +\d+s ago +127\.0\.0\.1:\d+\n/);
    expect(r.stdout).toMatch(
      new RegExp(`\ngone +no +- +\\d+s ago +127\\.0\\.0\\.1:${gonePort} +TCPFailure: .*ECONNREFUSED`),
    );
    expect(r.stdout).toMatch(
      new RegExp(
        `default/echo +${importPort} +127\\.0\\.0\\.1:${importPort} +round-robin +east:default/echo +yes\n`,
      ),
    );
    expect(r.stdout).toContain('AccessPolicy  default/deny-gone  deny    yes');
    expect(r.stdout).toMatch(
      /INVALID OBJECTS \(1, skipped\)\nWHERE +KIND +NAME +ERROR\nbad\.yaml\[0\] +Export +x +spec\.host: is required/,
    );
  });

  it('prints JSON and YAML for scripts', async () => {
    const json = await cli(['status', '--gateway', westAdmin.replace('http://', ''), '-o', 'json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as StatusReport;
    expect(report.peer?.name).toBe('west');
    // east's labels, learned from its heartbeat answers
    expect(report.peers[0].labels).toEqual({ region: 'us' });
    expect(report.peers.map((p) => [p.name, p.reachable])).toEqual([
      ['east', true],
      ['gone', false],
    ]);
    const yaml = await cli(['status', '--gateway', `${westAdmin}/status`, '-o', 'yaml']);
    expect((parseYaml(yaml.stdout) as StatusReport).imports[0].name).toBe('echo');
  });

  it('names the flag on a bad output format and URL', async () => {
    expect(await cli(['status', '--gateway', westAdmin, '-o', 'xml'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--output "xml" must be one of: table, json, yaml'),
    });
    expect(await cli(['status', '--gateway', 'ftp://x'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--gateway "ftp://x" must be an http(s) URL'),
    });
  });

  it('says what to check when nothing listens there', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const r = await cli(['status', '--gateway', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `cannot reach the gateway admin port at http://127.0.0.1:${port} (ECONNREFUSED)`,
    );
  });

  it('refuses a server that is not a gateway admin port', async () => {
    const server = http.createServer((_req, res) => res.end('{"hello":1}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const r = await cli(['status', '--gateway', `http://127.0.0.1:${port}`]);
    server.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('did not answer a status report');
  });

  it('reports a missing kubeconfig clearly when no --gateway is given', async () => {
    const r = await cli(['status', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kubeconfig /nonexistent/kubeconfig does not exist');
  });
});

describe('formatStatus', () => {
  it('renders an empty site', () => {
    const text = formatStatus(
      {
        source: 'kubernetes',
        generatedAt: '',
        peers: [],
        exports: [],
        imports: [],
        policies: [],
        invalid: [],
        errors: ['boom'],
      },
      'table',
    );
    expect(text).toBe(
      'Site (unknown peer) (Kubernetes)\nERROR: boom\n\nPEERS (0)\n\nEXPORTS (0)\n\nIMPORTS (0)\n\nPOLICIES (0)\n',
    );
  });
});

describe('RTT from a PeerReachable condition message', () => {
  it('reads the control plane\'s "(round trip N ms)" suffix', () => {
    expect(rttFrom('heartbeat succeeded (round trip 1.7 ms)')).toBe(1.7);
    expect(rttFrom('TCP connection failed')).toBeUndefined();
    expect(rttFrom(undefined)).toBeUndefined();
  });
});

describe('clusterlink status without any Kubernetes configuration', () => {
  const saved = {
    HOME: process.env.HOME,
    KUBECONFIG: process.env.KUBECONFIG,
    KSH: process.env.KUBERNETES_SERVICE_HOST,
  };
  afterEach(() => {
    for (const [k, v] of [
      ['HOME', saved.HOME],
      ['KUBECONFIG', saved.KUBECONFIG],
      ['KUBERNETES_SERVICE_HOST', saved.KSH],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('says how to point it at a cluster or a standalone gateway', async () => {
    process.env.HOME = '/nonexistent-home';
    delete process.env.KUBECONFIG;
    delete process.env.KUBERNETES_SERVICE_HOST;
    const r = await cli(['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no Kubernetes cluster configured');
    expect(r.stderr).toContain('--gateway http://127.0.0.1:9090');
  });
});
