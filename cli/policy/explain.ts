/**
 * Explains, for each source of an Import, which policy decides a connection and at which end:
 * egress at the importing gateway, ingress at the exporting gateway (when its policies are known).
 * Pure: works on StatusReports, which carry the policies and the peers' labels.
 */
import { ClusterLinkError } from '../../kernel/errors';
import { destinationAttributes, sourceAttributes } from '../../dataplane/attributes';
import type { Labels } from '../../kernel/api/snapshot';
import { PolicyEngine, type Decision } from '../../kernel/policy/engine';
import type { Attributes, PolicyObject } from '../../kernel/policy/types';
import type { StatusReport } from '../../controller/standalone/report';

export interface ClientIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly labels: Labels;
}

export interface ExplainInput {
  readonly importer: StatusReport;
  readonly importName: string;
  readonly importNamespace: string;
  /** The client workload; absent = unidentified (e.g. a local process in front of a standalone gateway). */
  readonly client?: ClientIdentity;
  /** Only these source peers (default: every source of the Import). */
  readonly sourcePeers?: readonly string[];
  /** Status of exporting peers whose policies are known, by peer name. */
  readonly exporters: ReadonlyMap<string, StatusReport>;
}

export type EndDecision =
  | { readonly known: true; readonly peer: string; readonly decision: Decision; readonly namespace: string }
  | { readonly known: false; readonly peer: string; readonly why: string };

export interface SourceExplanation {
  readonly peer: string;
  readonly exportName: string;
  readonly exportNamespace: string;
  readonly egress: EndDecision;
  readonly ingress: EndDecision;
  /** allowed: both ends allow; denied: one end denies; unknown: egress allows but ingress is not known. */
  readonly verdict: 'allowed' | 'denied' | 'unknown';
  readonly sourceAttributes: Attributes;
  readonly destinationAttributes: Attributes;
}

export interface Explanation {
  readonly import: string;
  readonly localPeer: string;
  readonly client: ClientIdentity | 'unidentified';
  readonly sources: readonly SourceExplanation[];
}

export class ExplainError extends ClusterLinkError {
  constructor(message: string) {
    super('CL_ERR_EXPLAIN', message);
  }
}

function policiesOf(report: StatusReport): PolicyObject[] {
  return report.policies.map((p) => ({
    name: p.name,
    ...(p.namespace ? { namespace: p.namespace } : {}),
    spec: p.spec,
  }));
}

export function explainImport(input: ExplainInput): Explanation {
  const { importer } = input;
  const localPeer = importer.peer?.name;
  if (!localPeer) {
    const why = importer.errors.length
      ? `: ${importer.errors.join('; ')}`
      : ' (no readable peer certificate)';
    throw new ExplainError(`the importing site does not name its peer${why}`);
  }
  const imp = importer.imports.find(
    (i) => i.name === input.importName && i.namespace === input.importNamespace,
  );
  if (!imp) {
    const known = importer.imports.map((i) => `${i.namespace}/${i.name}`).join(', ') || 'none';
    throw new ExplainError(
      `no Import ${input.importNamespace}/${input.importName} at peer "${localPeer}" (imports: ${known})`,
    );
  }
  const sources = imp.sources.filter((s) => !input.sourcePeers?.length || input.sourcePeers.includes(s.peer));
  if (sources.length === 0) {
    throw new ExplainError(
      `--source-peer ${input.sourcePeers?.join(',')} is not a source of ${imp.namespace}/${imp.name} (sources: ${imp.sources.map((s) => s.peer).join(', ')})`,
    );
  }
  const egressEngine = new PolicyEngine(policiesOf(importer));
  const client = input.client
    ? {
        ip: '',
        namespace: input.client.namespace,
        serviceAccount: input.client.serviceAccount,
        labels: input.client.labels,
      }
    : undefined;
  const src = sourceAttributes(localPeer, importer.peer?.labels ?? {}, client);

  return {
    import: `${imp.namespace}/${imp.name}`,
    localPeer,
    client: input.client ?? 'unidentified',
    sources: sources.map((s) => {
      const remoteLabels = importer.peers.find((p) => p.name === s.peer)?.labels ?? {};
      const dstEgress = destinationAttributes(
        s.exportName,
        s.exportNamespace,
        imp.labels,
        s.peer,
        remoteLabels,
      );
      const egress: EndDecision = {
        known: true,
        peer: localPeer,
        namespace: imp.namespace,
        decision: egressEngine.decide(src, dstEgress, imp.namespace),
      };
      let ingress: EndDecision;
      const exporter = input.exporters.get(s.peer);
      if (!exporter) {
        ingress = {
          known: false,
          peer: s.peer,
          why: `the policies of peer "${s.peer}" are not available here (pass --exporter ${s.peer}=URL|DIR)`,
        };
      } else {
        const exp = exporter.exports.find(
          (e) => e.name === s.exportName && e.namespace === s.exportNamespace,
        );
        if (!exp) {
          ingress = {
            known: true,
            peer: s.peer,
            namespace: s.exportNamespace,
            decision: {
              action: 'deny',
              reason: `peer "${s.peer}" has no Export ${s.exportNamespace}/${s.exportName}`,
              tier: 'default-deny',
            },
          };
        } else {
          const dstIngress = destinationAttributes(
            s.exportName,
            s.exportNamespace,
            exp.labels,
            s.peer,
            exporter.peer?.labels ?? {},
          );
          const engine = new PolicyEngine(policiesOf(exporter));
          ingress = {
            known: true,
            peer: s.peer,
            namespace: s.exportNamespace,
            decision: engine.decide(src, dstIngress, s.exportNamespace),
          };
        }
      }
      const denied = (e: EndDecision) => e.known && e.decision.action === 'deny';
      const verdict = denied(egress) || denied(ingress) ? 'denied' : ingress.known ? 'allowed' : 'unknown';
      return { ...s, egress, ingress, verdict, sourceAttributes: src, destinationAttributes: dstEgress };
    }),
  };
}

function describeEnd(direction: 'egress' | 'ingress', end: EndDecision): string {
  if (!end.known) return `  ${direction.padEnd(7)} at ${end.peer}: unknown: ${end.why}\n`;
  const d = end.decision;
  const by = d.policy
    ? `${d.policy.kind} ${d.policy.namespace ? `${d.policy.namespace}/` : ''}${d.policy.name}`
    : 'default deny (no policy matches)';
  return `  ${direction.padEnd(7)} at ${end.peer}: ${d.action.toUpperCase()} by ${by} [${d.tier}]: ${d.reason}\n`;
}

export function formatExplanation(e: Explanation): string {
  const who =
    e.client === 'unidentified'
      ? 'an unidentified client (no client.* attributes: policies that select on them deny)'
      : `a client in namespace ${e.client.namespace}${e.client.serviceAccount ? `, service account ${e.client.serviceAccount}` : ''}${
          Object.keys(e.client.labels).length
            ? `, labels ${Object.entries(e.client.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(',')}`
            : ''
        }`;
  const out = [`Import ${e.import} at peer "${e.localPeer}", for ${who}:\n`];
  for (const s of e.sources) {
    out.push(
      `\nsource ${s.peer} (export ${s.exportNamespace}/${s.exportName}): ${s.verdict.toUpperCase()}\n`,
    );
    out.push(describeEnd('egress', s.egress));
    out.push(describeEnd('ingress', s.ingress));
  }
  return out.join('');
}
