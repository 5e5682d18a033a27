/**
 * Pure decisions of Lease-based leader election (coordination.k8s.io/v1), in the manner of
 * client-go: a lease is expired when its record has not changed for leaseDurationSeconds measured
 * on OUR clock since we first saw that record (no trust in other machines' clocks).
 */

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface ObservedRecord {
  /** holderIdentity + renewTime: the record whose changes we time. */
  readonly fingerprint: string;
  /** Our clock when that fingerprint was first seen. */
  readonly observedAt: number;
}

export type LeaseAction = 'acquire' | 'renew' | 'follow';

export function fingerprint(spec: LeaseSpec | undefined): string {
  return `${spec?.holderIdentity ?? ''}|${spec?.renewTime ?? ''}|${spec?.leaseTransitions ?? 0}`;
}

/** Updates the observation of a lease record: the time only moves when the record changed. */
export function observe(
  previous: ObservedRecord | undefined,
  spec: LeaseSpec | undefined,
  now: number,
): ObservedRecord {
  const fp = fingerprint(spec);
  return previous && previous.fingerprint === fp ? previous : { fingerprint: fp, observedAt: now };
}

export function decide(
  spec: LeaseSpec | undefined,
  observed: ObservedRecord,
  identity: string,
  now: number,
  defaultDurationSeconds: number,
): LeaseAction {
  const holder = spec?.holderIdentity ?? '';
  if (holder === identity) return 'renew';
  if (!holder) return 'acquire';
  const duration = (spec?.leaseDurationSeconds ?? defaultDurationSeconds) * 1000;
  return now - observed.observedAt >= duration ? 'acquire' : 'follow';
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The spec we write when taking or renewing the lease. */
export function nextSpec(
  current: LeaseSpec | undefined,
  identity: string,
  now: number,
  durationSeconds: number,
): LeaseSpec {
  const renewing = current?.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: durationSeconds,
    acquireTime: renewing && current?.acquireTime ? current.acquireTime : microTime(now),
    renewTime: microTime(now),
    leaseTransitions: renewing
      ? (current?.leaseTransitions ?? 0)
      : (current?.leaseTransitions ?? 0) + (current?.holderIdentity ? 1 : 0),
  };
}

/** The spec a leader writes when it steps down, so a follower takes over at its next try. */
export function releasedSpec(current: LeaseSpec): LeaseSpec {
  return { ...current, holderIdentity: null, leaseDurationSeconds: 1 };
}
