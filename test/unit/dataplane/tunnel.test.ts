import { randomBytes } from 'node:crypto';
import {
  Cleanup,
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
  async function twoSites(servicePort: number) {
    const west = await startDataPlane(cleanup);
    const east = await startDataPlane(cleanup, { forceHttp1 });
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
});
