/**
 * The error catalogue: every stable code the gateway, the control planes and the CLI raise, with
 * what it means and, for refusals on the gateway port, the HTTP status. The same code appears in
 * the error's `code`, in logs, in the `code` label of the error metrics and in the
 * `x-cl-error-code` header of refusals. docs/errors.md holds the same table (a unit test compares
 * them). Pure, no imports.
 */

interface Entry {
  readonly meaning: string;
  /** The HTTP status of a refusal on the gateway port with this code. */
  readonly status?: number;
}

export const ERROR_CATALOGUE = {
  // ---- gateway port and tunnels ----
  CL_ERR_POLICY_DENIED: {
    meaning: 'An access policy (or default deny) refused the connection.',
    status: 403,
  },
  CL_ERR_PEER_UNREACHABLE: {
    meaning: 'No gateway of the remote peer could be reached or it refused the tunnel.',
  },
  CL_ERR_NO_SUCH_EXPORT: { meaning: 'The requested export does not exist at this gateway.', status: 404 },
  CL_ERR_NO_SUCH_PEER: { meaning: 'An Import names a peer this gateway has no Peer object for.' },
  CL_ERR_BAD_TOKEN: {
    meaning: 'The access token is missing, malformed, expired, already used or for another export or peer.',
    status: 401,
  },
  CL_ERR_IDENTITY_MISMATCH: {
    meaning: 'The client certificate does not name the peer the request claims, or no longer applies.',
    status: 403,
  },
  CL_ERR_BAD_REQUEST: {
    meaning: 'The request is not part of the gateway protocol or its body or headers are invalid.',
    status: 400,
  },
  CL_ERR_TOO_MANY_TUNNELS: { meaning: 'A tunnel limit (per peer or overall) is reached.', status: 429 },
  CL_ERR_EXPORT_UNREACHABLE: { meaning: 'The exported service could not be connected to.', status: 502 },
  CL_ERR_PROTOCOL: { meaning: 'The peer broke the HTTP/1.1 or HTTP/2 protocol.', status: 400 },
  CL_ERR_INVALID_SNAPSHOT: { meaning: 'A desired-state snapshot failed validation and was not applied.' },
  CL_ERR_NOT_STARTED: { meaning: 'The data plane was used before it started.' },
  CL_ERR_CLOSED: { meaning: 'The data plane is shutting down.', status: 503 },
  CL_ERR_LISTEN: { meaning: 'A listener (gateway port or Import port) could not be opened.' },
  CL_ERR_NO_SOURCE: {
    meaning: 'No source of an Import could be used for a client connection; the client is reset.',
  },
  CL_ERR_INTERNAL: { meaning: 'An unexpected error; the message says more.', status: 500 },
  CL_ERR_TOO_MANY_CONNECTIONS: {
    meaning: 'The gateway port holds its maximum of connections; new ones are closed on accept.',
  },
  CL_ERR_TLS_HANDSHAKE: {
    meaning: 'A TLS handshake on the gateway port failed (certificate not from the fabric CA, timeout, ...).',
  },
  CL_ERR_HEADERS_TIMEOUT: { meaning: 'A request head did not arrive in time.' },
  CL_ERR_HEADER_TOO_LARGE: { meaning: 'A request head exceeded the size limit.', status: 431 },
  CL_ERR_BODY_TIMEOUT: { meaning: 'A request body did not arrive in time.', status: 408 },
  CL_ERR_BODY_TOO_LARGE: { meaning: 'A request body exceeded the size limit.', status: 413 },
  CL_ERR_CERT_EXPIRED: {
    meaning:
      'The client certificate of a kept-alive connection expired (the refusal says CL_ERR_IDENTITY_MISMATCH).',
  },
  CL_ERR_SESSION_IDLE: {
    meaning: 'An HTTP/2 session without streams was closed after the keep-alive timeout.',
  },
  // ---- peer health ----
  CL_ERR_PEER_IDENTITY: {
    meaning: "A remote gateway's certificate names another peer than the Peer object.",
  },
  CL_ERR_PROBE_TIMEOUT: { meaning: 'A heartbeat got no complete response in time.' },
  CL_ERR_PROBE_ABORTED: {
    meaning: 'A heartbeat was stopped (monitor closed or peer removed); never a failure.',
  },
  // ---- control planes ----
  CL_ERR_BAD_CERTIFICATE: {
    meaning:
      'A certificate or key is unreadable, not from the fabric CA, expired, mismatched or names no peer (no DNS SAN).',
  },
  CL_ERR_BAD_OPTION: { meaning: 'A control-plane setting from the environment is out of range.' },
  CL_ERR_BAD_PEER_LABELS: { meaning: 'Peer labels are not a list of key=value.' },
  CL_ERR_BAD_ADDRESS: { meaning: 'An address is not host:port.' },
  CL_ERR_KUBE_API: { meaning: 'The Kubernetes API server answered with an error status.' },
  CL_ERR_KUBE_TRANSPORT: { meaning: 'The Kubernetes API server could not be reached.' },
  CL_ERR_KUBE_GONE: { meaning: 'A watch resource version is too old (410); the informer lists again.' },
  CL_ERR_KUBE_CONFIG: { meaning: 'The kubeconfig has no usable cluster or credentials.' },
  CL_ERR_RECONCILE_TERMINAL: {
    meaning: 'A reconcile failed in a way retrying cannot fix; reported on the object.',
  },
  CL_ERR_SNAPSHOT_FORMAT: { meaning: 'A snapshot from the control plane is not in the expected format.' },
  CL_ERR_POLICY_INVALID: {
    meaning: 'An access policy cannot be compiled (bad selector); it is left out and reported.',
  },
  // ---- CLI ----
  CL_ERR_USAGE: { meaning: 'A command-line flag or argument is missing or invalid (exit status 2).' },
  CL_ERR_INVALID_NAME: { meaning: 'A name is not a DNS label.' },
  CL_ERR_EXISTS: { meaning: 'A file the command would create exists already; nothing is overwritten.' },
  CL_ERR_NOT_FOUND: { meaning: 'A file or object the command needs does not exist.' },
  CL_ERR_CONFIG: { meaning: 'A standalone configuration directory cannot be read.' },
  CL_ERR_UNAVAILABLE: { meaning: 'A gateway admin port did not answer.' },
  CL_ERR_KUBERNETES: { meaning: 'Applying or deleting objects in Kubernetes failed.' },
  CL_ERR_DEMO_FAILED: { meaning: 'The demo could not complete (or was interrupted).' },
  CL_ERR_EXPLAIN: { meaning: 'A policy decision cannot be explained from the inputs given.' },
} as const satisfies Record<`CL_ERR_${string}`, Entry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The one base class of ClusterLink's errors: a stable `code` from the catalogue. */
export class ClusterLinkError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
