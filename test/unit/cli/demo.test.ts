import * as path from 'node:path';
import { runDemo } from '../../../cli/demo/demo';
import { captureContext, cli } from './helpers';

jest.setTimeout(300_000);
const ROOT = path.resolve(__dirname, '../../..');

describe('clusterlink demo', () => {
  it('runs every step against three real gateway processes and prints the final status', async () => {
    const ctx = captureContext();
    await runDemo(ctx, {
      gatewayCommand: {
        command: process.execPath,
        args: ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'cli/main.ts')],
      },
      stepTimeoutMs: 90_000,
    });
    const progress = ctx.stderr.join('');
    for (const step of [
      'A request through the tunnel',
      'Round-robin across both sites',
      'A deny policy takes effect',
      'Kill the east gateway: traffic fails over to west',
      'Status shows east unreachable',
      'Restart east: reachable again, round-robin resumes',
    ]) {
      expect(progress).toContain(`✔ ${step}`);
    }
    expect(progress).not.toContain('✘');
    expect(progress).toMatch(
      /… Round-robin across both sites\n {4}\d× "hello from (east|west)", \d× "hello from (east|west)"\n✔ Round-robin across both sites \(/,
    );
    expect(progress).toMatch(/egress +at client: DENY by AccessPolicy default\/deny-west/);
    expect(progress).toMatch(/All steps behaved/);
    const status = ctx.stdout.join('');
    expect(status).toMatch(/\neast +yes /);
    expect(status).toMatch(/\nwest +yes /);
  });

  it('fails, cleans up and names the step when a gateway cannot start', async () => {
    const ctx = captureContext();
    await expect(
      runDemo(ctx, {
        gatewayCommand: { command: process.execPath, args: ['-e', 'process.exit(3)', '--'] },
        stepTimeoutMs: 10_000,
      }),
    ).rejects.toMatchObject({
      code: 'CL_ERR_DEMO_FAILED',
      message: expect.stringContaining('exited during start-up'),
    });
    expect(ctx.stderr.join('')).toContain('✘ Start three gateways');
  });
});

describe('clusterlink demo flags', () => {
  it.each([
    [['--addresses', '127.0.0.1,127.0.0.2'], '--addresses "127.0.0.1,127.0.0.2" must be three IP addresses'],
    [['--addresses', 'a,b,c'], '--addresses "a,b,c" must be three IP addresses'],
    [['--heartbeat-interval', 'fast'], '--heartbeat-interval "fast" must be an integer'],
  ])('rejects %j', async (args, message) => {
    const r = await cli(['demo', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
