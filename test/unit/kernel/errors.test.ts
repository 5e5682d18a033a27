/** One error catalogue: every code in the sources is in it, docs/errors.md shows it, statuses agree. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOGUE } from '../../../kernel/errors';
import { httpStatusFor } from '../../../dataplane/errors';
import { listSourceFiles, REPO_ROOT } from '../architecture/import-graph';

const sources = listSourceFiles(['kernel', 'controller', 'dataplane', 'cli']).map((file) => ({
  file,
  text: readFileSync(join(REPO_ROOT, file), 'utf8'),
}));

/** The table docs/errors.md must hold, row for row. */
export function catalogueTable(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(
    ([code, entry]) => `| \`${code}\` | ${'status' in entry ? entry.status : ''} | ${entry.meaning} |`,
  );
  return ['| code | HTTP status | meaning |', '|---|---|---|', ...rows].join('\n');
}

describe('error catalogue', () => {
  test('every CL_ERR_ code the sources use is in the catalogue', () => {
    const used = new Set(sources.flatMap(({ text }) => text.match(/CL_ERR_[A-Z0-9_]+/g) ?? []));
    expect([...used].filter((code) => !(code in ERROR_CATALOGUE)).sort()).toEqual([]);
  });

  test('no ad-hoc errors: a code comes with a ClusterLinkError, not Object.assign(new Error(), { code })', () => {
    const adHoc = sources.filter(({ text }) => /Object\.assign\(new Error\([^;]*CL_ERR_/s.test(text));
    expect(adHoc.map((s) => s.file)).toEqual([]);
  });

  test('docs/errors.md shows the catalogue', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
    expect(doc).toContain(catalogueTable());
  });

  test('refusals on the gateway port answer with the status of their code', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE))
      expect([code, httpStatusFor(code)]).toEqual([code, 'status' in entry ? entry.status : 500]);
  });
});
