import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { writeFileSync } from 'node:fs';
import { makeFabric, policyYaml } from '../standalone/fixtures';
import { cli } from './helpers';

jest.setTimeout(120_000);
const ROOT = path.resolve(__dirname, '../../..');

/** Runs `clusterlink gateway` as a real process and resolves once it reports where it serves. */
function startGatewayProcess(configDir: string, extraArgs: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      'cli/main.ts',
      'gateway',
      '--config',
      configDir,
      '--gateway-host',
      '127.0.0.1',
      '--gateway-port',
      '0',
      '--admin-port',
      '0',
      ...extraArgs,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const serving = new Promise<{ gatewayPort: number; statusUrl: string }>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /serving peers on 127\.0\.0\.1:(\d+); status at (http:\/\/\S+\/status)/.exec(stderr);
      if (m) resolve({ gatewayPort: Number(m[1]), statusUrl: m[2] });
    });
    child.once('exit', () => reject(new Error(`gateway exited: ${stderr}`)));
  });
  return { child, exited, serving, stderr: () => stderr };
}

describe('clusterlink gateway', () => {
  let fabric: Awaited<ReturnType<typeof makeFabric>>;
  beforeEach(async () => (fabric = await makeFabric(['east'])));
  afterEach(() => fabric.cleanup());

  it('runs as a process, serves status on its admin port and stops cleanly on SIGTERM', async () => {
    const [east] = fabric.sites;
    east.write('policy.yaml', policyYaml('allow-all', 'allow'));
    const gateway = startGatewayProcess(east.dir, ['--peer-label', 'region=us', '--log-level', 'warn']);
    const { child, exited } = gateway;
    try {
      const { statusUrl } = await gateway.serving;
      expect(gateway.stderr()).toMatch(/gateway "east" serving peers on 127\.0\.0\.1:\d+/);
      const report = (await (await fetch(statusUrl)).json()) as { peer: unknown; policies: unknown[] };
      expect(report.peer).toEqual({ name: 'east', labels: { region: 'us' } });
      expect(report.policies).toEqual([expect.objectContaining({ name: 'allow-all', valid: true })]);
      const metrics = await (await fetch(statusUrl.replace('/status', '/metrics'))).text();
      expect(metrics).toContain('# TYPE');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(gateway.stderr()).toContain('SIGTERM: closing gateway "east"');
  });

  it.each([
    [['--config', '/nonexistent/dir'], 2, '--config "/nonexistent/dir" is not a directory'],
    [['--gateway-port', '70000'], 2, '--gateway-port "70000" must be an integer 0-65535'],
    [['--admin-port', 'x'], 2, '--admin-port "x" must be an integer 0-65535'],
    [['--peer-label', 'novalue'], 2, '--peer-label "novalue" must have the form key=value'],
    [['--heartbeat-interval', '0'], 2, '--heartbeat-interval "0" must be an integer 1-600000'],
    [['--log-level', 'loud'], 2, '--log-level "loud" must be one of'],
    [
      ['--limit', 'maxTunels=5'],
      2,
      '--limit "maxTunels=5": unknown limit "maxTunels"; known: handshakeTimeoutMs',
    ],
    [
      ['--limit', 'maxTunnels=0'],
      2,
      '--limit "maxTunnels=0": maxTunnels must be an integer >= 1 (default 20000)',
    ],
    [['--limit', 'maxTunnels'], 2, '--limit "maxTunnels" must have the form name=value'],
  ])('rejects %j naming the flag', async (args, code, message) => {
    const [east] = fabric.sites;
    const r = await cli(['gateway', '--config', east.dir, ...args]);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
  });

  it('applies --limit overrides to the gateway port (a stalled handshake is closed after handshakeTimeoutMs)', async () => {
    const [east] = fabric.sites;
    const { child, serving } = startGatewayProcess(east.dir, ['--limit', 'handshakeTimeoutMs=300'], {
      CL_LIMITS: 'maxTunnels=100',
    });
    try {
      const { gatewayPort } = await serving;
      // A client that connects and never starts TLS: the default limit would hold it for 10 s,
      // the override closes it after 300 ms. Timed from the connection, not from the start of the
      // test: starting the process takes seconds on a busy machine.
      const socket = net.connect({ host: '127.0.0.1', port: gatewayPort });
      const closedAfterMs = await new Promise<number>((resolve) => {
        const started = Date.now();
        socket.on('error', () => undefined);
        socket.once('close', () => resolve(Date.now() - started));
      });
      expect(closedAfterMs).toBeGreaterThanOrEqual(250);
      expect(closedAfterMs).toBeLessThan(5_000);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('requires --config', async () => {
    expect(await cli(['gateway'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("required option '--config <dir>' not specified"),
    });
  });

  it('names the certificate file that is wrong', async () => {
    const [east] = fabric.sites;
    writeFileSync(path.join(east.dir, 'key.pem'), 'junk');
    const r = await cli(['gateway', '--config', east.dir, '--gateway-port', '0', '--admin-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.join(east.dir, 'key.pem')}: not a PEM private key`);
  });

  it('says which port is taken', async () => {
    const [east] = fabric.sites;
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await cli([
        'gateway',
        '--config',
        east.dir,
        '--gateway-port',
        '0',
        '--admin-port',
        String(port),
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('EADDRINUSE');
      expect(r.stderr).toContain('choose another --gateway-port or --admin-port');
    } finally {
      blocker.close();
    }
  });
});
