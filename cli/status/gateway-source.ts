/** Reads a standalone gateway's StatusReport from its admin port. */
import type { StatusReport } from '../../controller/standalone/report';
import { CliError, usageError } from '../errors';

export function statusUrl(gateway: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(gateway) ? gateway : `http://${gateway}`);
  } catch {
    throw usageError(`--gateway "${gateway}" is not a URL (e.g. http://127.0.0.1:9090)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`--gateway "${gateway}" must be an http(s) URL`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/status';
  return url;
}

export async function fetchGatewayStatus(gateway: string, timeoutMs = 5000): Promise<StatusReport> {
  const url = statusUrl(gateway);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(
      'CL_ERR_UNAVAILABLE',
      `cannot reach the gateway admin port at ${url.origin} (${cause}): is \`clusterlink gateway\` running, and is this its --admin-port?`,
      { cause: err },
    );
  }
  if (!res.ok)
    throw new CliError(
      'CL_ERR_UNAVAILABLE',
      `${url} answered ${res.status}: not a clusterlink gateway admin port?`,
    );
  let body: unknown;
  try {
    body = await res.json();
  } catch (err) {
    throw new CliError(
      'CL_ERR_UNAVAILABLE',
      `${url} did not answer JSON: not a clusterlink gateway admin port?`,
      { cause: err },
    );
  }
  const report = body as Partial<StatusReport>;
  if (
    !report ||
    !Array.isArray(report.peers) ||
    !Array.isArray(report.imports) ||
    !Array.isArray(report.policies)
  ) {
    throw new CliError('CL_ERR_UNAVAILABLE', `${url} did not answer a status report`);
  }
  return report as StatusReport;
}
