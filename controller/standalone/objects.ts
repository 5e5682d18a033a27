/**
 * The objects of a standalone gateway's configuration directory, after validation. They carry the
 * same apiVersion/kind/field names as the CRDs; `origin` says which file and document each came from.
 */
import type { LbScheme, Labels } from '../../kernel/api/snapshot';
import type { PolicyObject } from '../../kernel/policy/types';

export interface Origin {
  /** File name relative to the configuration directory. */
  readonly file: string;
  /** Index of the YAML document within the file, from 0. */
  readonly index: number;
}

export function originText(origin: Origin): string {
  return `${origin.file}[${origin.index}]`;
}

export interface PeerObject {
  readonly kind: 'Peer';
  readonly name: string;
  readonly gateways: readonly { readonly host: string; readonly port: number }[];
  readonly origin: Origin;
}

export interface ExportObject {
  readonly kind: 'Export';
  readonly name: string;
  readonly namespace: string;
  /** spec.host: the target host (required without Kubernetes: there is no Service to default to). */
  readonly host: string;
  readonly port: number;
  readonly labels: Labels;
  readonly origin: Origin;
}

export interface ImportObject {
  readonly kind: 'Import';
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
  readonly targetPort?: number;
  readonly sources: readonly {
    readonly peer: string;
    readonly exportName: string;
    readonly exportNamespace: string;
  }[];
  readonly lbScheme: LbScheme;
  readonly labels: Labels;
  readonly origin: Origin;
}

export interface PolicyConfigObject {
  readonly kind: 'AccessPolicy' | 'PrivilegedAccessPolicy';
  readonly policy: PolicyObject;
  readonly origin: Origin;
}

export type ConfigObject = PeerObject | ExportObject | ImportObject | PolicyConfigObject;

/** A document that could not be used, with the reason (`spec.port: must be an integer 1-65535`). */
export interface InvalidObject {
  readonly origin: Origin;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly error: string;
}

export function invalidText(invalid: InvalidObject): string {
  return `${originText(invalid.origin)} ${invalid.error}`;
}

export interface DirectoryConfig {
  readonly peers: readonly PeerObject[];
  readonly exports: readonly ExportObject[];
  readonly imports: readonly ImportObject[];
  readonly policies: readonly PolicyConfigObject[];
  readonly invalid: readonly InvalidObject[];
}

/** The port an Import listens on without Kubernetes: targetPort when set, else port. */
export function importListenPort(imp: ImportObject): number {
  return imp.targetPort && imp.targetPort > 0 ? imp.targetPort : imp.port;
}
