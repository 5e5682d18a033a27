/**
 * The folder DAG of docs/architecture.md, checked on the real import statements: no cycles
 * between modules, each folder imports only what the table allows, the pure decision modules do
 * no I/O, and nothing but the CLI depends on the CLI.
 */
import { findCycles, readImportGraph, type ImportEdge, type ImportGraph } from './import-graph';

const graph = readImportGraph(['kernel', 'constructs', 'controller', 'dataplane', 'cli']);
const internal = graph.edges.filter((e) => !e.external);

/** Constants shared by manifests (constructs/) and code alike; they import nothing. */
const VOCABULARY = ['kernel/api/labels.ts', 'kernel/api/conventions.ts', 'kernel/api/names.ts'];

/**
 * Who may import whom: one line per folder (docs/architecture.md has the same table). A file
 * follows the line with the longest prefix of its path.
 */
const ALLOWED: readonly { from: string; to: readonly string[] }[] = [
  { from: 'kernel/', to: ['kernel/'] },
  { from: 'constructs/', to: ['constructs/', 'imports/', ...VOCABULARY] },
  { from: 'dataplane/', to: ['dataplane/', 'kernel/'] },
  { from: 'controller/', to: ['controller/', 'kernel/', 'imports/'] },
  { from: 'controller/standalone/', to: ['controller/', 'kernel/', 'imports/', 'dataplane/index.ts'] },
  { from: 'cli/', to: ['cli/', 'kernel/', 'constructs/', 'controller/', 'dataplane/', 'imports/'] },
];

/** Layers inside a folder, checked the same way: a module imports only the layers below it. */
const LAYERS: readonly { from: string; to: readonly string[] }[] = [
  { from: 'kernel/api/', to: ['kernel/api/', 'kernel/policy/types.ts'] },
  { from: 'kernel/policy/', to: ['kernel/policy/', 'kernel/api/', 'kernel/errors.ts'] },
  { from: 'kernel/lb/', to: ['kernel/lb/', 'kernel/api/'] },
  { from: 'controller/k8s/', to: ['controller/k8s/', 'kernel/'] },
  { from: 'controller/health/', to: ['controller/health/', 'kernel/'] },
];

/**
 * The kernel's process conventions: the logger, the metrics registry and the admin endpoint. The
 * rest of kernel/ is pure decision logic and contracts, as are the peer health state machine's
 * modules: no sockets, files, processes or Kubernetes clients.
 */
const KERNEL_PROCESS = ['kernel/log.ts', 'kernel/prometheus.ts', 'kernel/admin.ts'];
const isPure = (file: string) =>
  (file.startsWith('kernel/') && !KERNEL_PROCESS.includes(file)) ||
  ['controller/health/state.ts', 'controller/health/types.ts'].includes(file);
const IO_MODULES =
  /^(node:)?(net|http|https|http2|tls|fs|fs\/promises|dgram|dns|child_process|cluster|worker_threads)$|^undici|^@kubernetes\/client-node|^pino/;

function ruleFor(
  rules: readonly { from: string; to: readonly string[] }[],
  file: string,
): { from: string; to: readonly string[] } | undefined {
  const matching = rules.filter((r) => file.startsWith(r.from));
  return matching.length === 0
    ? undefined
    : matching.reduce((a, b) => (b.from.length > a.from.length ? b : a));
}

const breaks = (rules: readonly { from: string; to: readonly string[] }[]) => (e: ImportEdge) => {
  const rule = ruleFor(rules, e.from);
  return rule !== undefined && !rule.to.some((prefix) => e.to.startsWith(prefix));
};

const describeEdge = (e: ImportEdge) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type only)' : ''}`;

describe('import graph', () => {
  it('is read from the real sources', () => {
    expect(graph.files.length).toBeGreaterThan(100);
    expect(graph.unresolved).toEqual([]);
    // Known edges of each kind, so the rules below cannot pass on an empty graph.
    const has = (from: string, to: string) => graph.edges.some((e) => e.from === from && e.to === to);
    expect(has('controller/standalone/gateway.ts', 'dataplane/index.ts')).toBe(true);
    expect(has('dataplane/metrics.ts', 'kernel/prometheus.ts')).toBe(true);
    expect(has('controller/health/probe.ts', 'node:https')).toBe(true);
    expect(graph.edges.find((e) => e.from === 'kernel/api/snapshot.ts' && !e.external)?.typeOnly).toBe(true);
  });

  it('finds a cycle when there is one', () => {
    const fake: ImportGraph = {
      files: ['a.ts', 'b.ts', 'c.ts', 'd.ts'],
      edges: [
        { from: 'a.ts', to: 'b.ts', typeOnly: false, external: false },
        { from: 'b.ts', to: 'c.ts', typeOnly: true, external: false },
        { from: 'c.ts', to: 'a.ts', typeOnly: false, external: false },
        { from: 'a.ts', to: 'd.ts', typeOnly: false, external: false },
      ],
      unresolved: [],
    };
    expect(findCycles(fake, true)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(findCycles(fake, false)).toEqual([]);
  });

  it('has no cycles between modules, type-only imports included', () => {
    expect(findCycles(graph, true)).toEqual([]);
  });

  it('has a rule for every folder', () => {
    expect(graph.files.filter((f) => ruleFor(ALLOWED, f) === undefined)).toEqual([]);
  });

  it('follows the folder dependencies of docs/architecture.md', () => {
    expect(internal.filter(breaks(ALLOWED)).map(describeEdge)).toEqual([]);
  });

  it('follows the layers inside kernel/ and controller/', () => {
    expect(internal.filter(breaks(LAYERS)).map(describeEdge)).toEqual([]);
  });

  it('keeps the pure decision modules free of I/O', () => {
    const io = graph.edges.filter(
      (e) => e.external && !e.typeOnly && isPure(e.from) && IO_MODULES.test(e.to),
    );
    expect(io.map(describeEdge)).toEqual([]);
  });

  it('keeps the shared vocabulary free of imports', () => {
    expect(graph.edges.filter((e) => VOCABULARY.includes(e.from)).map(describeEdge)).toEqual([]);
  });

  it('uses the generated API types in controller/ as types only', () => {
    const runtime = internal.filter(
      (e) => e.from.startsWith('controller/') && e.to.startsWith('imports/') && !e.typeOnly,
    );
    expect(runtime.map(describeEdge)).toEqual([]);
  });

  it('lets nothing outside cli/ depend on the CLI', () => {
    const intoCli = internal.filter((e) => e.to.startsWith('cli/') && !e.from.startsWith('cli/'));
    expect(intoCli.map(describeEdge)).toEqual([]);
  });
});
