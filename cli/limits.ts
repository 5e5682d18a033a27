/**
 * `--limit name=value` (repeatable, or comma-separated; also env CL_LIMITS): overrides of the data
 * plane's protective limits and timeouts (dataplane/limits.ts), checked against the known names.
 */
import { DEFAULT_LIMITS, type DataPlaneLimits } from '../dataplane';
import { usageError } from './errors';

export const LIMIT_FLAG_HELP =
  'override a data-plane limit, e.g. maxTunnels=5000 or h2StreamWindowBytes=1048576 (repeatable; env CL_LIMITS="a=1,b=2")';

/** Limits that may be 0 (meaning "never"); every other limit must be at least 1. */
const ZERO_ALLOWED: ReadonlySet<keyof DataPlaneLimits> = new Set(['idleTimeoutMs', 'bufferBudgetBytes']);

function isLimitName(name: string): name is keyof DataPlaneLimits {
  return Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, name);
}

export function parseLimits(
  flag: string,
  values: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Partial<DataPlaneLimits> {
  const items = [...(env.CL_LIMITS ? [env.CL_LIMITS] : []), ...values]
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const limits: Partial<Record<keyof DataPlaneLimits, number>> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usageError(`${flag} "${item}" must have the form name=value`);
    const name = item.slice(0, eq).trim();
    const text = item.slice(eq + 1).trim();
    if (!isLimitName(name)) {
      throw usageError(
        `${flag} "${item}": unknown limit "${name}"; known: ${Object.keys(DEFAULT_LIMITS).join(', ')}`,
      );
    }
    const value = Number(text);
    const min = ZERO_ALLOWED.has(name) ? 0 : 1;
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
      throw usageError(
        `${flag} "${item}": ${name} must be an integer >= ${min} (default ${DEFAULT_LIMITS[name]})`,
      );
    }
    limits[name] = value;
  }
  return limits;
}
