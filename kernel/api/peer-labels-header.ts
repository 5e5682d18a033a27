/**
 * The peer labels a gateway returns on GET /healthz: header `ClusterLinkPeerLabels`, the base64 of
 * a JSON object of strings (upstream sends Go's `map[string]string`, so `null` means no labels).
 * The header comes from another site: validate it, bound its size, never throw.
 */
import type { Labels } from './snapshot';

/** Generous for labels, small enough that a hostile peer cannot make us hold much. */
export const MAX_LABELS_HEADER_BYTES = 16 * 1024;

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

export type ParsedLabels = { readonly labels: Labels; readonly error?: string };

export function parsePeerLabelsHeader(value: string | readonly string[] | undefined): ParsedLabels {
  if (value === undefined) return { labels: {} };
  if (typeof value !== 'string') return { labels: {}, error: 'the header appears more than once' };
  const text = value.trim();
  if (text.length === 0) return { labels: {} };
  if (text.length > MAX_LABELS_HEADER_BYTES)
    return { labels: {}, error: `the header exceeds ${MAX_LABELS_HEADER_BYTES} bytes` };
  if (!BASE64.test(text)) return { labels: {}, error: 'the header is not base64' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return { labels: {}, error: 'the header does not decode to JSON' };
  }
  if (parsed === null) return { labels: {} };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { labels: {}, error: 'the header does not hold a JSON object' };
  }
  const labels: Record<string, string> = {};
  for (const [key, val] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof val !== 'string') return { labels: {}, error: `label ${JSON.stringify(key)} is not a string` };
    labels[key] = val;
  }
  return { labels };
}

/** Encodes labels the way the header carries them (used by our gateway and by tests). */
export function encodePeerLabelsHeader(labels: Labels): string {
  return Buffer.from(JSON.stringify(labels), 'utf8').toString('base64');
}
