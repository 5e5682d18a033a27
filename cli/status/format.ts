/** Renders a StatusReport as one screen of tables, or as JSON / YAML for scripts. */
import { stringify } from 'yaml';
import type { StatusReport } from '../../controller/standalone/report';
import { ago, table } from '../table';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

function nsName(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function yesNo(v: boolean | undefined): string {
  return v === undefined ? 'unknown' : v ? 'yes' : 'no';
}

export function formatStatus(report: StatusReport, format: OutputFormat, now = new Date()): string {
  if (format === 'json') return JSON.stringify(report, null, 2) + '\n';
  if (format === 'yaml') return stringify(report);
  const out: string[] = [];
  const where =
    report.source === 'standalone'
      ? `standalone gateway${report.gateway ? ` on ${report.gateway}` : ''}`
      : 'Kubernetes';
  const labels =
    report.peer && Object.keys(report.peer.labels).length
      ? ` labels ${Object.entries(report.peer.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')}`
      : '';
  out.push(
    `Site ${report.peer?.name ?? '(unknown peer)'} (${where}${report.configVersion !== undefined ? `, config version ${report.configVersion}` : ''})${labels}\n`,
  );
  for (const e of report.errors) out.push(`ERROR: ${e}\n`);

  out.push(`\nPEERS (${report.peers.length})\n`);
  if (report.peers.length) {
    out.push(
      table(
        ['NAME', 'REACHABLE', 'RTT', 'SINCE', 'GATEWAYS', 'WHY'],
        report.peers.map((p) => [
          p.name,
          yesNo(p.reachable),
          p.rttMs !== undefined ? `${p.rttMs}ms` : '-',
          ago(p.since, now),
          p.gateways.join(','),
          p.reachable === false ? `${p.reason ?? ''}${p.message ? `: ${p.message}` : ''}` : '',
        ]),
      ),
    );
  }
  out.push(`\nEXPORTS (${report.exports.length})\n`);
  if (report.exports.length) {
    out.push(
      table(
        ['NAME', 'TARGET', 'VALID', 'MESSAGE'],
        report.exports.map((e) => [nsName(e.namespace, e.name), e.target, yesNo(e.valid), e.message ?? '']),
      ),
    );
  }
  out.push(`\nIMPORTS (${report.imports.length})\n`);
  if (report.imports.length) {
    out.push(
      table(
        ['NAME', 'PORT', 'LISTEN', 'LB', 'SOURCES', 'VALID', 'MESSAGE'],
        report.imports.map((i) => [
          nsName(i.namespace, i.name),
          String(i.port),
          i.listen ?? '-',
          i.lbScheme,
          i.sources.map((s) => `${s.peer}:${s.exportNamespace}/${s.exportName}`).join(','),
          yesNo(i.valid),
          i.message ?? '',
        ]),
      ),
    );
  }
  out.push(`\nPOLICIES (${report.policies.length})\n`);
  if (report.policies.length) {
    out.push(
      table(
        ['KIND', 'NAME', 'ACTION', 'VALID', 'MESSAGE'],
        report.policies.map((p) => [
          p.kind,
          nsName(p.namespace, p.name),
          p.action,
          yesNo(p.valid),
          p.message ?? '',
        ]),
      ),
    );
  }
  if (report.invalid.length) {
    out.push(`\nINVALID OBJECTS (${report.invalid.length}, skipped)\n`);
    out.push(
      table(
        ['WHERE', 'KIND', 'NAME', 'ERROR'],
        report.invalid.map((i) => [
          i.file !== undefined ? `${i.file}[${i.index ?? 0}]` : '-',
          i.kind ?? '-',
          i.name ? nsName(i.namespace, i.name) : '-',
          i.error,
        ]),
      ),
    );
  }
  return out.join('');
}
