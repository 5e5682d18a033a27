/**
 * Policy attributes of a tunnel (DESIGN.md section 4). Pure functions: the same inputs give the same
 * flat map on both gateways.
 */
import { Attr } from '../kernel/api/labels';
import type { Labels, SnapshotClient } from '../kernel/api/snapshot';
import type { Attributes } from '../kernel/policy/types';

function withPrefix(out: Record<string, string>, prefix: string, labels: Labels | undefined): void {
  if (!labels) return;
  for (const [k, v] of Object.entries(labels)) out[prefix + k] = v;
}

/** Source attributes built by the importing gateway for a client connection. */
export function sourceAttributes(
  localPeer: string,
  localPeerLabels: Labels,
  client: SnapshotClient | undefined,
): Attributes {
  const out: Record<string, string> = { [Attr.peerName]: localPeer };
  withPrefix(out, Attr.peerLabelPrefix, localPeerLabels);
  if (client) {
    out[Attr.clientNamespace] = client.namespace;
    out[Attr.clientServiceAccount] = client.serviceAccount;
    withPrefix(out, Attr.clientLabelPrefix, client.labels);
  }
  return out;
}

/**
 * Destination attributes: the export, its labels (the Import's labels on the importing side, the
 * Export's on the exporting side) and the exporting peer.
 */
export function destinationAttributes(
  exportName: string,
  exportNamespace: string,
  exportLabels: Labels,
  exportingPeer: string,
  exportingPeerLabels: Labels,
): Attributes {
  const out: Record<string, string> = {
    [Attr.exportName]: exportName,
    [Attr.exportNamespace]: exportNamespace,
    [Attr.peerName]: exportingPeer,
  };
  withPrefix(out, Attr.exportLabelPrefix, exportLabels);
  withPrefix(out, Attr.peerLabelPrefix, exportingPeerLabels);
  return out;
}

/** Strips the IPv4-mapped IPv6 prefix so `::ffff:10.0.0.1` finds the client `10.0.0.1`. */
export function normalizeIp(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
