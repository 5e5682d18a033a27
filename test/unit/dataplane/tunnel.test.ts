import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import {
  Cleanup,
  collect,
  connectTo,
  startServer,
  exchange,
  exportOf,
  importAddress,
  importOf,
  makePki,
  peer,
  sha256,
  snapshotFor,
  startChecksum,
  startDataPlane,
  startEcho,
  type Pki,
} from './harness';

let pki: Pki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await makePki(['east', 'west']);
});
afterEach(() => cleanup.run());

describe.each([
  ['h2', false],
  ['http/1.1', true],
] as const)('tunnel over %s', (_protocol, forceHttp1) => {
  async function twoSites(servicePort: number, limits: { idleTimeoutMs?: number } = {}) {
    const west = await startDataPlane(cleanup, { limits });
    const east = await startDataPlane(cleanup, { forceHttp1, limits });
    await west.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', servicePort)] }));
    await east.applySnapshot(
      snapshotFor(pki, {
        name: 'east',
        peers: [peer('west', west)],
        imports: [importOf('svc', [{ peer: 'west' }])],
      }),
    );
    return { east, west };
  }

  it('carries bytes intact both ways and propagates the half-close', async () => {
    const fromService = randomBytes(3 * 1024 * 1024 + 17);
    const service = await startChecksum(cleanup, fromService);
    const { east } = await twoSites(service.port);
    const fromClient = randomBytes(5 * 1024 * 1024 + 5);

    const outcome = await exchange(importAddress(east, 'svc'), fromClient);

    expect(outcome.end).toBe('fin');
    expect(outcome.data.length).toBe(fromService.length + 64);
    expect(sha256(outcome.data.subarray(0, fromService.length))).toBe(sha256(fromService));
    expect(outcome.data.subarray(fromService.length).toString()).toBe(sha256(fromClient));
  });

  it('echoes over many concurrent tunnels', async () => {
    const service = await startEcho(cleanup);
    const { east } = await twoSites(service.port);
    const payloads = Array.from({ length: 20 }, () => randomBytes(64 * 1024));
    const outcomes = await Promise.all(payloads.map((p) => exchange(importAddress(east, 'svc'), p)));
    outcomes.forEach((o, i) => expect(sha256(o.data)).toBe(sha256(payloads[i])));
  });

  it('propagates a half-close from the service side while the client keeps sending', async () => {
    const received = createHash('sha256');
    let serviceDone!: () => void;
    const serviceGotEnd = new Promise<void>((r) => (serviceDone = r));
    const service = await startServer(cleanup, (socket) => {
      socket.end('bye'); // FIN first, then keep reading
      socket.on('data', (c: Buffer) => received.update(c));
      socket.once('end', () => serviceDone());
    });
    const { east } = await twoSites(service.port);
    const client = await connectTo(importAddress(east, 'svc'));
    const closed = once(client, 'close');
    const chunks: Buffer[] = [];
    client.on('data', (c: Buffer) => chunks.push(c));
    await once(client, 'end'); // the service's FIN crossed both gateways
    expect(Buffer.concat(chunks).toString()).toBe('bye');
    const late = randomBytes(1024 * 1024);
    client.end(late); // the other direction still flows
    await serviceGotEnd;
    expect(received.digest('hex')).toBe(sha256(late));
    await closed;
  });

  it('backpressure: a paused reader stops the writer and bounds what is buffered', async () => {
    const serviceSockets: Socket[] = [];
    const service = await startServer(cleanup, (socket) => {
      socket.pause();
      serviceSockets.push(socket);
    });
    const { east } = await twoSites(service.port);
    const client = await connectTo(importAddress(east, 'svc'));
    const chunk = randomBytes(256 * 1024);
    const offered = 512 * 1024 * 1024;
    const baseline = process.memoryUsage().arrayBuffers;
    let accepted = 0;
    let stalled = false;
    const sent = createHash('sha256');
    while (accepted < offered) {
      sent.update(chunk);
      accepted += chunk.length;
      if (!client.write(chunk)) {
        const drained = await Promise.race([
          once(client, 'drain').then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
        ]);
        if (!drained) {
          stalled = true;
          break;
        }
      }
    }
    expect(stalled).toBe(true);
    if (process.env.CL_TEST_VERBOSE)
      console.log(`${_protocol}: writer stalled after ${(accepted / 1048576).toFixed(1)} MB`);
    // Windows, highWaterMarks and kernel buffers hold a few MB, not what the client offered.
    expect(accepted).toBeLessThan(96 * 1024 * 1024);
    expect(process.memoryUsage().arrayBuffers - baseline).toBeLessThan(128 * 1024 * 1024);
    // Resume the reader: everything arrives intact.
    const received = createHash('sha256');
    let receivedBytes = 0;
    const reader = serviceSockets[0];
    reader.on('data', (c: Buffer) => {
      received.update(c);
      receivedBytes += c.length;
    });
    const ended = once(reader, 'end');
    reader.resume();
    client.end();
    await ended;
    expect(receivedBytes).toBe(accepted);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
  });

  it('propagates a reset from the service to the client', async () => {
    const service = await startServer(cleanup, (socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    const { east } = await twoSites(service.port);
    const client = await connectTo(importAddress(east, 'svc'));
    const outcome = collect(client);
    client.write('hello');
    const result = await outcome;
    expect(result.end).toBe('error');
    expect(result.error?.code).toBe('ECONNRESET');
  });

  it('propagates a reset from the client to the service', async () => {
    let serviceOutcome!: Promise<Awaited<ReturnType<typeof collect>>>;
    let onService!: () => void;
    const serviceConnected = new Promise<void>((r) => (onService = r));
    const service = await startServer(cleanup, (socket) => {
      serviceOutcome = collect(socket);
      socket.write('hi');
      onService();
    });
    const { east } = await twoSites(service.port);
    const client = await connectTo(importAddress(east, 'svc'));
    client.write('x');
    await serviceConnected;
    await once(client, 'data'); // the tunnel is established end to end
    client.resetAndDestroy();
    const result = await serviceOutcome;
    expect(result.end).toBe('error');
    expect(result.error?.code).toBe('ECONNRESET');
  });

  it('resets a tunnel that stays idle beyond the idle timeout', async () => {
    const service = await startEcho(cleanup);
    const { east } = await twoSites(service.port, { idleTimeoutMs: 300 });
    const client = await connectTo(importAddress(east, 'svc'));
    const outcome = collect(client);
    client.write('ping');
    const result = await outcome;
    expect(result.data.toString()).toBe('ping');
    expect(result.end).toBe('error');
  });
});
