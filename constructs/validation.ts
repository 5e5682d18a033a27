/** Synth-time checks shared by the constructs; each returns an error text or undefined. */

import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue } from '../kernel/api/names';

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label: namespaces, peer names. */
export function checkDnsLabel(what: string, value: string): string | undefined {
  if (!isDnsLabel(value)) {
    return `${what} "${value}" must be a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** A DNS-1035 label: the names of Services (an Import becomes a Service). */
export function checkServiceName(what: string, value: string): string | undefined {
  if (value.length > 63 || !DNS_1035_LABEL.test(value)) {
    return `${what} "${value}" must be usable as a Service name: at most 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`;
  }
  return undefined;
}

/** A DNS-1123 subdomain: names of most objects. */
export function checkObjectName(what: string, value: string): string | undefined {
  if (!isDnsSubdomain(value)) {
    return `${what} "${value}" must be a DNS subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** A Kubernetes label key (optional DNS-subdomain prefix, '/', name of at most 63 characters). */
export function checkLabelKey(what: string, key: string): string | undefined {
  if (!isLabelKey(key)) {
    return `${what} key "${key}" is not a valid label key: use [prefix/]name where name has at most 63 letters, digits, '-', '_' or '.' and starts and ends with a letter or digit`;
  }
  return undefined;
}

export function checkLabelValue(what: string, key: string, value: string): string | undefined {
  if (!isLabelValue(value)) {
    return `${what} "${key}" has value "${value}", which is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

export function checkLabels(what: string, labels: Readonly<Record<string, string>> | undefined): string[] {
  const errors: string[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const keyError = checkLabelKey(what, key);
    if (keyError) errors.push(keyError);
    const valueError = checkLabelValue(what, key, value);
    if (valueError) errors.push(valueError);
  }
  return errors;
}

/** A TCP port; `allowZero` where 0 means "allocate one". */
export function checkPort(what: string, value: number, allowZero = false): string | undefined {
  const min = allowZero ? 0 : 1;
  if (!Number.isInteger(value) || value < min || value > 65535) {
    return `${what} is ${value}; use an integer from ${min} to 65535`;
  }
  return undefined;
}

export function defined<T>(values: readonly (T | undefined)[]): T[] {
  return values.filter((v): v is T => v !== undefined);
}
