/** The desired-state snapshot of a standalone gateway, as a pure function of what it has loaded. */
import { SNAPSHOT_SCHEMA, type GatewaySnapshot, type Labels } from '../../kernel/api/snapshot';
import type { SnapshotTls } from '../../kernel/api/snapshot';
import type { DirectoryConfig } from './objects';
import { importListenPort } from './objects';

export interface PeerView {
  readonly reachable: boolean;
  readonly labels: Labels;
}

export interface StandaloneSnapshotInput {
  readonly version: number;
  readonly localPeer: { readonly name: string; readonly labels: Labels };
  readonly tls: SnapshotTls;
  readonly tokenKey: string;
  readonly config: DirectoryConfig;
  /** Address every Import listens on (e.g. 127.0.0.1). */
  readonly listenHost: string;
  /** Health of a remote peer; unknown peers count as reachable until heartbeats say otherwise. */
  readonly peerView: (name: string) => PeerView | undefined;
}

export function buildStandaloneSnapshot(input: StandaloneSnapshotInput): GatewaySnapshot {
  const { config } = input;
  return {
    schema: SNAPSHOT_SCHEMA,
    version: input.version,
    localPeer: input.localPeer,
    tls: input.tls,
    tokenKey: input.tokenKey,
    peers: config.peers.map((p) => {
      const view = input.peerView(p.name);
      return {
        name: p.name,
        gateways: p.gateways,
        reachable: view?.reachable ?? true,
        labels: view?.labels ?? {},
      };
    }),
    exports: config.exports.map((e) => ({
      name: e.name,
      namespace: e.namespace,
      host: e.host,
      port: e.port,
      labels: e.labels,
    })),
    imports: config.imports.map((i) => ({
      name: i.name,
      namespace: i.namespace,
      listenHost: input.listenHost,
      listenPort: importListenPort(i),
      lbScheme: i.lbScheme,
      sources: i.sources,
      labels: i.labels,
    })),
    policies: config.policies.map((p) => p.policy),
    clients: [],
  };
}
