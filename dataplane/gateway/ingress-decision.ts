/**
 * The exporting gateway's decisions (DESIGN.md sections 4-5), pure over the compiled snapshot:
 * which export a request names, whether the requesting peer is who it claims to be, and what the
 * ingress policy says (with the Export's namespace and labels).
 */
import { Attr } from '../../kernel/api/labels';
import type { SnapshotExport } from '../../kernel/api/snapshot';
import type { Decision } from '../../kernel/policy/engine';
import { destinationAttributes } from '../attributes';
import { namespacedKey, type CompiledConfig } from '../config';
import { IdentityMismatchError, NoSuchExportError } from '../errors';
import type { AuthorizationRequest, ExportRef } from '../protocol';

export interface IngressDecision {
  readonly export: SnapshotExport;
  readonly decision: Decision;
}

export function findExport(config: CompiledConfig, ref: ExportRef): SnapshotExport {
  const found = config.exports.get(namespacedKey(ref.namespace, ref.name));
  if (!found) throw new NoSuchExportError(`no export ${ref.namespace}/${ref.name} at ${config.localPeer}`);
  return found;
}

/**
 * @param certPeer the requesting peer's name from its verified client certificate.
 * Throws NoSuchExportError, IdentityMismatchError; returns the policy decision otherwise.
 */
export function decideIngress(
  config: CompiledConfig,
  certPeer: string,
  request: AuthorizationRequest,
): IngressDecision {
  const exp = findExport(config, request);
  const claimed = request.sourceAttributes[Attr.peerName];
  // Upstream trusts the claimed name; we require it to be the certificate's. An absent claim (upstream
  // sends no attributes when it cannot identify the client) is filled in from the certificate.
  if (claimed !== undefined && claimed !== certPeer) {
    throw new IdentityMismatchError(`peer ${certPeer} claimed to be ${claimed}`);
  }
  const source =
    claimed === undefined
      ? { ...request.sourceAttributes, [Attr.peerName]: certPeer }
      : request.sourceAttributes;
  const destination = destinationAttributes(
    exp.name,
    exp.namespace,
    exp.labels ?? {},
    config.localPeer,
    config.snapshot.localPeer.labels ?? {},
  );
  return { export: exp, decision: config.policy.decide(source, destination, exp.namespace) };
}
