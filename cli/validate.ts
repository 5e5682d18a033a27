/** Checks of user-supplied flag values, with messages that name the flag. */
import { dnsLabelProblem, isLabelKey, isLabelValue } from '../kernel/api/names';
import { LOG_LEVELS, isLogLevel, type LogLevel } from '../kernel/api/conventions';
import { usageError } from './errors';

export function requireDnsLabel(flag: string, name: string): string {
  const problem = dnsLabelProblem(name);
  if (problem)
    throw usageError(`${flag} "${name}" is not a valid DNS label: ${problem} (e.g. "east", "site-1")`);
  return name;
}

export function parsePort(flag: string, value: string, { allowZero = false } = {}): number {
  const n = Number(value);
  const min = allowZero ? 0 : 1;
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < min || n > 65535) {
    throw usageError(`${flag} "${value}" must be an integer ${min}-65535`);
  }
  return n;
}

export function parsePositiveInt(flag: string, value: string, max = 1000): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max)
    throw usageError(`${flag} "${value}" must be an integer 1-${max}`);
  return n;
}

/** Parses repeated `k=v` flags (also a comma-separated list) into a label map. */
export function parseLabels(flag: string, values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of values.flatMap((v) => v.split(',')).filter((v) => v.trim() !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usageError(`${flag} "${item}" must have the form key=value`);
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (!isLabelKey(key)) {
      throw usageError(`${flag} "${item}": "${key}" is not a valid label key`);
    }
    if (!isLabelValue(value)) {
      throw usageError(`${flag} "${item}": "${value}" is not a valid label value`);
    }
    labels[key] = value;
  }
  return labels;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw usageError(`${flag} "${value}" must be one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

/** A log level from a flag or the environment (CL_LOG_LEVEL), checked; undefined when neither. */
export function checkLogLevel(level: string | undefined): LogLevel | undefined {
  if (level !== undefined && !isLogLevel(level))
    throw usageError(`--log-level "${level}" must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}
