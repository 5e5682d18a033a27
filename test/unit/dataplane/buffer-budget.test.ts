/**
 * Tunnels whose export target stops reading: without a budget each one holds a full h2 stream
 * window (8 MB) at the exporting gateway; with one, once the held bytes pass it, peers are told to
 * send less and later tunnels hold little. When the targets read again, every byte arrives intact
 * and the windows are restored.
 */
import { createHash, randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import { connectTo, eventually, importAddress, startServer, perFile, westExportsToEast } from './harness';

jest.setTimeout(60_000);

const fixture = perFile(['east', 'west']);
const { cleanup } = fixture;

const TUNNELS = 10;
const CHUNK = randomBytes(1 << 20);
const CHUNKS_PER_TUNNEL = 12; // more than one stream window (8 MB) plus buffers: every tunnel stalls
const EXPECTED_HASH = createHash('sha256')
  .update(Buffer.concat(Array.from({ length: CHUNKS_PER_TUNNEL }, () => CHUNK)))
  .digest('hex');

/** Writes CHUNKS_PER_TUNNEL chunks with backpressure; resolves when done or when stalled 300 ms. */
function pumpUntilStalled(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    let sent = 0;
    let timer = setTimeout(resolve, 300);
    const pump = (): void => {
      clearTimeout(timer);
      timer = setTimeout(resolve, 300);
      while (sent < CHUNKS_PER_TUNNEL) {
        sent++;
        if (sent === CHUNKS_PER_TUNNEL) socket.end(CHUNK);
        else if (!socket.write(CHUNK)) return void socket.once('drain', pump);
      }
    };
    pump();
  });
}

async function stalledTunnels(bufferBudgetBytes: number) {
  const targets: net.Socket[] = [];
  const hashes: string[] = [];
  const service = await startServer(cleanup, (socket) => {
    socket.pause(); // a target that stops reading
    targets.push(socket);
    const hash = createHash('sha256');
    socket.on('data', (c: Buffer) => hash.update(c));
    socket.once('end', () => {
      hashes.push(hash.digest('hex'));
      socket.end();
    });
  });
  const { west, east } = await westExportsToEast(cleanup, fixture.pki, service.port, {
    limits: { bufferBudgetBytes },
  });
  const clients: net.Socket[] = [];
  let pressureSeen = false;
  for (let i = 0; i < TUNNELS; i++) {
    const client = await connectTo(importAddress(east, 'svc'));
    client.on('error', () => undefined);
    cleanup.add(() => client.destroy());
    clients.push(client);
    await pumpUntilStalled(client);
    const gauge = (await west.metrics.bufferPressure.get()).values[0]?.value;
    if (gauge === 1) pressureSeen = true;
  }
  await new Promise((r) => setTimeout(r, 400)); // a sample of the stalled state
  const heldMB = ((await west.metrics.bufferedBytes.get()).values[0]?.value ?? 0) / 2 ** 20;
  return { west, targets, hashes, clients, heldMB, pressureSeen };
}

it('bounds what stalled tunnels hold, then delivers every byte once the targets read again', async () => {
  const unbounded = await stalledTunnels(0);
  expect(unbounded.pressureSeen).toBe(false);
  await cleanup.run();

  const bounded = await stalledTunnels(12 * 2 ** 20);
  expect(bounded.pressureSeen).toBe(true);
  // Without a budget each stalled tunnel holds about a full stream window at the exporting side.
  expect(unbounded.heldMB).toBeGreaterThan(TUNNELS * 6);
  expect(bounded.heldMB).toBeLessThan(unbounded.heldMB / 2);

  console.log(
    `held ${unbounded.heldMB.toFixed(1)} MB without a budget, ${bounded.heldMB.toFixed(1)} MB with`,
  );
  for (const target of bounded.targets) target.resume();
  await eventually(() => bounded.hashes.length === TUNNELS, 30_000).catch((e) => {
    throw new Error(`${bounded.hashes.length} of ${TUNNELS} transfers completed: ${e}`);
  });
  expect(bounded.hashes).toEqual(Array.from({ length: TUNNELS }, () => EXPECTED_HASH));
  await eventually(
    async () => (await bounded.west.metrics.bufferPressure.get()).values[0]?.value === 0,
    10_000,
  );
});
