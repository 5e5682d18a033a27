import { portHolders, resolveTargetPort, type PortClaim } from '../../../controller/reconcile/ports';

const reserved = new Set([8443, 9090, 9444]);
const range = { min: 20000, max: 20003 };

describe('resolveTargetPort', () => {
  it('keeps a requested free port', () => {
    expect(resolveTargetPort({ key: 'a/x', port: 21000 }, [], reserved, range)).toEqual({
      ok: true,
      port: 21000,
      allocated: false,
    });
  });

  it('refuses the gateway ports', () => {
    const r = resolveTargetPort({ key: 'a/x', port: 8443 }, [], reserved, range);
    expect(r).toMatchObject({ ok: false, reason: 'PortReserved' });
  });

  it('gives a contested port to the oldest Import and names the holder to the other', () => {
    const older: PortClaim = { key: 'a/old', port: 21000, creationTimestamp: '2024-01-01T00:00:00Z' };
    const newer: PortClaim = { key: 'a/new', port: 21000, creationTimestamp: '2024-01-02T00:00:00Z' };
    const claims = [older, newer];
    expect(resolveTargetPort(older, claims, reserved, range)).toMatchObject({ ok: true, port: 21000 });
    const r = resolveTargetPort(newer, claims, reserved, range);
    expect(r).toEqual({
      ok: false,
      reason: 'PortConflict',
      message: 'target port 21000 is already held by Import a/old',
    });
  });

  it('breaks creation-time ties by key so exactly one Import wins', () => {
    const a: PortClaim = { key: 'ns/a', port: 21000, creationTimestamp: 't' };
    const b: PortClaim = { key: 'ns/b', port: 21000, creationTimestamp: 't' };
    expect(resolveTargetPort(a, [a, b], reserved, range).ok).toBe(true);
    expect(resolveTargetPort(b, [a, b], reserved, range).ok).toBe(false);
  });

  it('allocates the lowest free port of the range, skipping claimed and reserved ones', () => {
    const claims = [
      { key: 'a/1', port: 20000 },
      { key: 'a/2', port: 20002 },
    ];
    expect(resolveTargetPort({ key: 'a/x', port: 0 }, claims, reserved, range)).toEqual({
      ok: true,
      port: 20001,
      allocated: true,
    });
    expect(resolveTargetPort({ key: 'a/x', port: 0 }, claims, new Set([20001]), range)).toMatchObject({
      port: 20003,
    });
  });

  it('ignores its own claim when allocating', () => {
    expect(
      resolveTargetPort({ key: 'a/x', port: 0 }, [{ key: 'a/x', port: 20000 }], reserved, range),
    ).toMatchObject({
      port: 20000,
    });
  });

  it('reports an exhausted range', () => {
    const claims = [20000, 20001, 20002, 20003].map((port, i) => ({ key: `a/${i}`, port }));
    expect(resolveTargetPort({ key: 'a/x', port: 0 }, claims, reserved, range)).toMatchObject({
      ok: false,
      reason: 'PortsExhausted',
    });
  });
});

describe('portHolders', () => {
  it('names the first claimant of each port, whatever the order of the list', () => {
    const claims = [
      { key: 'a/new', port: 21000, creationTimestamp: '2024-01-02' },
      { key: 'a/old', port: 21000, creationTimestamp: '2024-01-01' },
      { key: 'a/other', port: 21001, creationTimestamp: '2024-01-03' },
      { key: 'a/none', port: 0 },
    ];
    const holders = portHolders(claims);
    expect(holders.get(21000)?.key).toBe('a/old');
    expect(holders.get(21001)?.key).toBe('a/other');
    expect(holders.size).toBe(2);
    expect(portHolders([...claims].reverse()).get(21000)?.key).toBe('a/old');
  });
});
