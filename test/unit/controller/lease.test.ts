import { decide, microTime, nextSpec, observe, releasedSpec } from '../../../controller/leader/lease';

describe('lease decisions', () => {
  it('acquires a missing or released lease and renews its own', () => {
    const o = observe(undefined, undefined, 0);
    expect(decide(undefined, o, 'me', 0, 5)).toBe('acquire');
    expect(decide({ holderIdentity: null }, o, 'me', 0, 5)).toBe('acquire');
    expect(decide({ holderIdentity: 'me' }, o, 'me', 0, 5)).toBe('renew');
  });

  it('follows a live leader and takes over once its record has not changed for the lease duration (our clock)', () => {
    const spec = { holderIdentity: 'other', renewTime: 'r1', leaseDurationSeconds: 5 };
    let o = observe(undefined, spec, 1000);
    expect(decide(spec, o, 'me', 5999, 5)).toBe('follow');
    expect(decide(spec, o, 'me', 6000, 5)).toBe('acquire');
    // A renewal resets the observation time, whatever the leader's clock says.
    const renewed = { ...spec, renewTime: 'r2' };
    o = observe(o, renewed, 5500);
    expect(o.observedAt).toBe(5500);
    expect(decide(renewed, o, 'me', 6000, 5)).toBe('follow');
    expect(observe(o, renewed, 9000)).toBe(o);
  });

  it('writes MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678))).toBe('2024-01-02T03:04:05.678000Z');
  });

  it('counts transitions when the holder changes, not on renewals', () => {
    const taken = nextSpec({ holderIdentity: 'other', leaseTransitions: 2 }, 'me', 0, 5);
    expect(taken).toMatchObject({ holderIdentity: 'me', leaseTransitions: 3, leaseDurationSeconds: 5 });
    const renewed = nextSpec(taken, 'me', 1000, 5);
    expect(renewed.leaseTransitions).toBe(3);
    expect(renewed.acquireTime).toBe(taken.acquireTime);
    expect(renewed.renewTime).not.toBe(taken.renewTime);
    expect(nextSpec(undefined, 'me', 0, 5).leaseTransitions).toBe(0);
  });

  it('a release empties the holder so the next candidate acquires at once', () => {
    const released = releasedSpec({ holderIdentity: 'me', leaseDurationSeconds: 5 });
    expect(decide(released, observe(undefined, released, 0), 'other', 0, 5)).toBe('acquire');
  });
});
