/**
 * Wire constants and boundary validation of the gateway protocols (DESIGN.md section 5).
 * Everything here is pure: it validates untrusted input and turns it into typed values or a
 * BadRequestError.
 */
import type { Attributes } from '../kernel/policy/types';
import { BadRequestError, codeForHttpStatus, DataPlaneErrorCode } from './errors';

/** Compatible protocol (upstream ClusterLink). */
export const HEALTHZ_PATH = '/healthz';
export const AUTHZ_PATH = '/authz';
export const ACCESS_TOKEN_HEADER = 'x-access-token';
export const BEARER_PREFIX = 'Bearer ';

/**
 * Upstream gateways route by SNI: the peer name reaches their control plane (/authz, heartbeats),
 * `dataplane.<peer>` their data plane (CONNECT). Ours serve both on every connection and say so on a
 * granted /authz with this header, so our client can send the CONNECT on the same connection.
 */
export const DATAPLANE_SNI_PREFIX = 'dataplane.';
export const SAME_CONNECTION_HEADER = 'x-cl-connect-on-same-connection';

/** Fast path (ours, h2 only): one CONNECT stream both authorizes and opens a tunnel. */
export const EXPORT_NAME_HEADER = 'x-cl-export-name';
export const EXPORT_NAMESPACE_HEADER = 'x-cl-export-namespace';
/** base64(JSON of the source attributes). */
export const SOURCE_ATTRIBUTES_HEADER = 'x-cl-source-attributes';
/** On a refusal: the stable error code, so the importer can log and count it precisely. */
export const ERROR_CODE_HEADER = 'x-cl-error-code';

/** Size limits for untrusted input. */
export const MAX_AUTHZ_BODY_BYTES = 64 * 1024;
export const MAX_ATTRIBUTES = 256;
export const MAX_ATTRIBUTE_LENGTH = 1024;
/** Kubernetes names are at most 253 characters. */
const MAX_NAME_LENGTH = 253;

export interface ExportRef {
  readonly name: string;
  readonly namespace: string;
}

export interface AuthorizationRequest extends ExportRef {
  readonly sourceAttributes: Attributes;
}

function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw new BadRequestError(`${field} must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
  }
  return value;
}

/** Validates an attribute map (object of string to string, bounded). Null/absent = no attributes. */
export function checkAttributes(value: unknown, field: string): Attributes {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new BadRequestError(`${field} must be an object`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_ATTRIBUTES)
    throw new BadRequestError(`${field} has more than ${MAX_ATTRIBUTES} entries`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new BadRequestError(`${field}[${JSON.stringify(k)}] must be a string`);
    if (k.length > MAX_ATTRIBUTE_LENGTH || v.length > MAX_ATTRIBUTE_LENGTH) {
      throw new BadRequestError(`${field} entries must be at most ${MAX_ATTRIBUTE_LENGTH} characters`);
    }
    out[k] = v;
  }
  return out;
}

/** Parses the Go-cased JSON body of POST /authz: {"ServiceName","ServiceNamespace","SrcAttributes"}. */
export function parseAuthorizationBody(body: Buffer): AuthorizationRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new BadRequestError('authorization body is not JSON', { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequestError('authorization body must be a JSON object');
  }
  const o = parsed as Record<string, unknown>;
  return {
    name: checkName(o.ServiceName, 'ServiceName'),
    namespace: checkName(o.ServiceNamespace, 'ServiceNamespace'),
    sourceAttributes: checkAttributes(o.SrcAttributes, 'SrcAttributes'),
  };
}

export function encodeAuthorizationBody(request: AuthorizationRequest): string {
  return JSON.stringify({
    ServiceName: request.name,
    ServiceNamespace: request.namespace,
    SrcAttributes: request.sourceAttributes,
  });
}

/** base64(JSON) of a string map: the peer-labels header and the fast-path source attributes. */
export function encodeAttributesHeader(attributes: Attributes): string {
  return Buffer.from(JSON.stringify(attributes)).toString('base64');
}

export function decodeAttributesHeader(value: unknown, field: string): Attributes {
  if (value === undefined) return {};
  if (typeof value !== 'string') throw new BadRequestError(`${field} must be a single header`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  } catch (err) {
    throw new BadRequestError(`${field} is not base64 JSON`, { cause: err });
  }
  return checkAttributes(parsed, field);
}

/** The fast-path tunnel request headers (h2 CONNECT). */
export function parseFastPathHeaders(headers: Record<string, unknown>): AuthorizationRequest {
  return {
    name: checkName(headers[EXPORT_NAME_HEADER], EXPORT_NAME_HEADER),
    namespace: checkName(headers[EXPORT_NAMESPACE_HEADER], EXPORT_NAMESPACE_HEADER),
    sourceAttributes: decodeAttributesHeader(headers[SOURCE_ATTRIBUTES_HEADER], SOURCE_ATTRIBUTES_HEADER),
  };
}

/** Extracts the token of `authorization: Bearer <token>`; undefined if absent or another scheme. */
export function bearerToken(authorization: unknown): string | undefined {
  if (typeof authorization !== 'string' || !authorization.startsWith(BEARER_PREFIX)) return undefined;
  const token = authorization.slice(BEARER_PREFIX.length).trim();
  return token.length > 0 ? token : undefined;
}

const KNOWN_CODES = new Set<string>(Object.values(DataPlaneErrorCode));

/**
 * The code of a refusal from a remote gateway: its `x-cl-error-code` when it is one we know, else
 * the one its status implies. The remote is another site: what it sends becomes metric labels and
 * decides failover, so it must stay within our set of codes.
 */
export function remoteRefusalCode(given: unknown, status: number): DataPlaneErrorCode {
  return typeof given === 'string' && KNOWN_CODES.has(given)
    ? (given as DataPlaneErrorCode)
    : codeForHttpStatus(status);
}
