import * as path from 'node:path';
import { runDemo } from '../../../cli/demo/demo';
import { captureContext } from './helpers';

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
      /Round-robin across both sites: (\d× "hello from (east|west)", ){1}\d× "hello from (east|west)"/,
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
