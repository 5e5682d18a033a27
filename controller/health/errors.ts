/** Errors raised by heartbeat probes; callers branch on `code`. */
import { ClusterLinkError } from '../../kernel/errors';

/** The gateway's certificate chains to the fabric CA but names another peer. */
export class PeerIdentityError extends ClusterLinkError {
  constructor(
    readonly expected: string,
    readonly presented: string | undefined,
  ) {
    super(
      'CL_ERR_PEER_IDENTITY',
      presented === undefined
        ? `the gateway's certificate has no DNS name; expected "${expected}"`
        : `the gateway presented a certificate for "${presented}", expected "${expected}"`,
    );
  }
}

/** No complete response within the probe timeout. */
export class ProbeTimeoutError extends ClusterLinkError {
  constructor(readonly timeoutMs: number) {
    super('CL_ERR_PROBE_TIMEOUT', `no response within ${timeoutMs} ms`);
  }
}

/** The probe was stopped (monitor closed or peer removed); never reported as a failure. */
export class ProbeAbortedError extends ClusterLinkError {
  constructor() {
    super('CL_ERR_PROBE_ABORTED', 'heartbeat stopped');
  }
}
