/**
 * Snapshot ordering across control-plane instances: a snapshot from another origin is applied
 * whatever its version (its publisher's clock may be behind), while within one origin an older or
 * equal version is still ignored. Real data planes, a real tunnel through the applied import.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../../../kernel/log';
import {
  exchange,
  exportOf,
  importAddress,
  importOf,
  peer,
  snapshotFor,
  startDataPlane,
  startEcho,
  type SiteSpec,
  perFile,
} from './harness';

const fixture = perFile(['east', 'west']);
const { cleanup } = fixture;

const HOUR = 3_600_000;

/** `west` exports an echo service; `east`, whose log lines are kept, imports it once told to. */
async function sites() {
  const echo = await startEcho(cleanup);
  const west = await startDataPlane(cleanup);
  await west.applySnapshot(snapshotFor(fixture.pki, { name: 'west', exports: [exportOf('svc', echo.port)] }));
  const messages: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      messages.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
      done();
    },
  });
  const east = await startDataPlane(cleanup, { logger: createLogger({ level: 'info', destination }) });
  const eastSnapshot = (origin: string, version: number, extra: Partial<SiteSpec> = {}) => ({
    ...snapshotFor(fixture.pki, { name: 'east', peers: [peer('west', west)], version, ...extra }),
    origin,
  });
  return { east, eastSnapshot, messages };
}

describe('snapshot origin', () => {
  it('applies a snapshot from a new origin with a lower version: its import serves at once', async () => {
    const { east, eastSnapshot, messages } = await sites();
    const now = Date.now();
    await east.applySnapshot(eastSnapshot('replica-a', now, { imports: [] }));
    expect(east.importAddress('default', 'svc')).toBeUndefined();

    // Another control-plane instance whose clock is an hour behind.
    await east.applySnapshot(
      eastSnapshot('replica-b', now - HOUR, { imports: [importOf('svc', [{ peer: 'west' }])] }),
    );
    expect(east.snapshotVersion).toBe(now - HOUR);
    expect((await exchange(importAddress(east, 'svc'), Buffer.from('hello'))).data.toString()).toBe('hello');
    expect(messages.filter((m) => m === 'snapshot from a new control-plane instance')).toHaveLength(1);
  });

  it('still ignores an older or equal version of the origin in effect', async () => {
    const { east, eastSnapshot, messages } = await sites();
    const withImport = { imports: [importOf('svc', [{ peer: 'west' }])] };
    await east.applySnapshot(eastSnapshot('replica-b', 500, withImport));
    const listening = importAddress(east, 'svc');

    await east.applySnapshot(eastSnapshot('replica-b', 499, { imports: [] }));
    await east.applySnapshot(eastSnapshot('replica-b', 500, { imports: [] }));
    expect(east.snapshotVersion).toBe(500);
    expect((await exchange(listening, Buffer.from('kept'))).data.toString()).toBe('kept');
    expect(messages).not.toContain('snapshot from a new control-plane instance');

    // A newer version of that origin is applied as before: its policy change takes effect.
    await east.applySnapshot(eastSnapshot('replica-b', 501, { ...withImport, policies: [] })); // default deny
    expect(east.snapshotVersion).toBe(501);
    const refused = await exchange(listening, Buffer.from('hello')).catch(() => ({ data: Buffer.alloc(0) }));
    expect(refused.data.length).toBe(0);
  });
});
