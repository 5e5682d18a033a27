/**
 * Target-port resolution for Imports (pure). A target port is the data-plane listener of an
 * Import; two Imports may not share one, and the gateway's own ports are off limits. The Import
 * that held a port first (oldest creationTimestamp, then namespace/name) keeps it.
 */

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** Where allocated ports come from unless configured otherwise. */
export const DEFAULT_PORT_RANGE: PortRange = { min: 20000, max: 29999 };

export interface PortClaim {
  /** `namespace/name` of the Import. */
  readonly key: string;
  readonly port: number;
  readonly creationTimestamp?: string;
}

export type TargetPortResolution =
  | { readonly ok: true; readonly port: number; readonly allocated: boolean }
  | {
      readonly ok: false;
      readonly reason: 'PortConflict' | 'PortReserved' | 'PortsExhausted';
      readonly message: string;
    };

function precedes(a: PortClaim, b: PortClaim): boolean {
  const ta = a.creationTimestamp ?? '';
  const tb = b.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb;
  return a.key < b.key;
}

/**
 * @param self the Import being reconciled (port 0 = none requested)
 * @param claims every Import's requested port, plus ports allocated but not yet seen in the cache
 * @param reserved ports the gateway itself uses
 */
export function resolveTargetPort(
  self: PortClaim,
  claims: readonly PortClaim[],
  reserved: ReadonlySet<number>,
  range: PortRange = DEFAULT_PORT_RANGE,
): TargetPortResolution {
  if (self.port > 0) {
    if (reserved.has(self.port)) {
      return {
        ok: false,
        reason: 'PortReserved',
        message: `target port ${self.port} is used by the gateway itself`,
      };
    }
    const holder = claims.find((c) => c.key !== self.key && c.port === self.port && precedes(c, self));
    if (holder) {
      return {
        ok: false,
        reason: 'PortConflict',
        message: `target port ${self.port} is already held by Import ${holder.key}`,
      };
    }
    return { ok: true, port: self.port, allocated: false };
  }
  const used = new Set<number>(reserved);
  for (const c of claims) if (c.key !== self.key && c.port > 0) used.add(c.port);
  for (let p = range.min; p <= range.max; p++) {
    if (!used.has(p)) return { ok: true, port: p, allocated: true };
  }
  return {
    ok: false,
    reason: 'PortsExhausted',
    message: `no free target port in ${range.min}-${range.max}`,
  };
}

/** The Import that holds each requested port (the first by creation time, then key): O(n). */
export function portHolders(claims: readonly PortClaim[]): Map<number, PortClaim> {
  const holders = new Map<number, PortClaim>();
  for (const c of claims) {
    if (c.port <= 0) continue;
    const h = holders.get(c.port);
    if (!h || precedes(c, h)) holders.set(c.port, c);
  }
  return holders;
}
