/** Errors raised by heartbeat probes; callers branch on `code`. */

/** The gateway's certificate chains to the fabric CA but names another peer. */
export class PeerIdentityError extends Error {
  readonly code = 'CL_ERR_PEER_IDENTITY';
  constructor(
    readonly expected: string,
    readonly presented: string | undefined,
  ) {
    super(
      presented === undefined
        ? `the gateway's certificate has no DNS name; expected "${expected}"`
        : `the gateway presented a certificate for "${presented}", expected "${expected}"`,
    );
    this.name = 'PeerIdentityError';
  }
}

/** No complete response within the probe timeout. */
export class ProbeTimeoutError extends Error {
  readonly code = 'CL_ERR_PROBE_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`no response within ${timeoutMs} ms`);
    this.name = 'ProbeTimeoutError';
  }
}

/** The probe was stopped (monitor closed or peer removed); never reported as a failure. */
export class ProbeAbortedError extends Error {
  readonly code = 'CL_ERR_PROBE_ABORTED';
  constructor() {
    super('heartbeat stopped');
    this.name = 'ProbeAbortedError';
  }
}
