/** A StatusReport read straight from a standalone configuration directory (no gateway running). */
import { loadPeerIdentity, defaultCertificateFiles } from '../../controller/identity';
import { loadConfigDirectory } from '../../controller/standalone/load';
import { buildStatusReport } from '../../controller/standalone/status';
import type { StatusReport } from '../../controller/standalone/report';
import type { Labels } from '../../kernel/api/snapshot';
import { PolicyEngine } from '../../kernel/policy/engine';
import { CliError } from '../errors';

export async function directoryStatus(dir: string, peerLabels: Labels = {}): Promise<StatusReport> {
  let loaded;
  try {
    loaded = await loadConfigDirectory(dir);
  } catch (err) {
    throw new CliError(
      'CL_ERR_CONFIG',
      `cannot read the configuration directory ${dir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const errors: string[] = [];
  let peerName: string | undefined;
  try {
    peerName = (await loadPeerIdentity(defaultCertificateFiles(dir))).peerName;
  } catch (err) {
    errors.push((err as Error).message);
  }
  const report = buildStatusReport({
    ...(peerName ? { peer: { name: peerName, labels: peerLabels } } : {}),
    version: 0,
    config: loaded.config,
    health: () => undefined,
    // Not running: say where each import would listen rather than calling it broken.
    importAddress: () => undefined,
    invalidPolicies: new PolicyEngine(loaded.config.policies.map((p) => p.policy)).invalid,
    errors,
  });
  return { ...report, imports: report.imports.map((i) => ({ ...i, valid: true, message: undefined })) };
}
