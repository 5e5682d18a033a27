/**
 * The folder DAG of docs/architecture.md, checked on the real import statements: no cycles
 * between modules, each folder imports only what the table allows, the pure decision modules do
 * no I/O, and nothing but the CLI depends on the CLI.
 */
import { findCycles, readImportGraph, type ImportEdge, type ImportGraph } from './import-graph';

const graph = readImportGraph(['constructs', 'controller', 'dataplane', 'cli']);
const internal = graph.edges.filter((e) => !e.external);

/** Constants shared by manifests (constructs/) and code alike. */
const VOCABULARY = ['controller/api/labels.ts', 'controller/api/conventions.ts'];

/** Where a file may import from, by the longest matching prefix of the importing file. */
const ALLOWED: readonly { from: string; to: readonly string[] }[] = [
  // The shared vocabulary (API group, labels, attributes; names, ports, paths), which imports nothing.
  { from: 'constructs/', to: ['constructs/', 'imports/', ...VOCABULARY] },
  { from: 'controller/api/', to: ['controller/api/', 'controller/policy/types.ts'] },
  { from: 'controller/policy/', to: ['controller/policy/', 'controller/api/'] },
  { from: 'controller/lb/', to: ['controller/lb/', 'controller/api/'] },
  { from: 'controller/health/', to: ['controller/health/', 'controller/api/', 'controller/log.ts'] },
  { from: 'controller/log.ts', to: [] },
  { from: 'controller/prometheus.ts', to: [] },
  // The Kubernetes control plane: everything in controller/ except the standalone gateway.
  { from: 'controller/k8s/', to: ['controller/k8s/', 'controller/api/', 'controller/log.ts'] },
  {
    from: 'controller/',
    to: ['controller/', 'imports/'],
  },
  // The two process assemblies that run the data plane in-process or reuse its admin server.
  { from: 'controller/standalone/', to: ['controller/', 'dataplane/index.ts'] },
  { from: 'controller/main.ts', to: ['controller/', 'imports/', 'dataplane/admin.ts'] },
  {
    from: 'dataplane/',
    to: [
      'dataplane/',
      'controller/api/',
      'controller/policy/',
      'controller/lb/',
      'controller/log.ts',
      'controller/prometheus.ts',
    ],
  },
  { from: 'cli/', to: ['cli/', 'constructs/', 'controller/', 'dataplane/', 'imports/'] },
];

/** Modules of pure decision logic: no sockets, files, processes or Kubernetes clients. */
const PURE = [
  'controller/api/',
  'controller/policy/',
  'controller/lb/',
  'controller/health/state.ts',
  'controller/health/types.ts',
];
const IO_MODULES =
  /^(node:)?(net|http|https|http2|tls|fs|fs\/promises|dgram|dns|child_process|cluster|worker_threads)$|^undici|^@kubernetes\/client-node|^pino/;

function ruleFor(file: string): { from: string; to: readonly string[] } {
  const matching = ALLOWED.filter((r) => file.startsWith(r.from));
  if (matching.length === 0) throw new Error(`no rule for ${file}`);
  return matching.reduce((a, b) => (b.from.length > a.from.length ? b : a));
}

const describeEdge = (e: ImportEdge) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type only)' : ''}`;

describe('import graph', () => {
  it('is read from the real sources', () => {
    expect(graph.files.length).toBeGreaterThan(100);
    expect(graph.unresolved).toEqual([]);
    // Known edges of each kind, so the rules below cannot pass on an empty graph.
    const has = (from: string, to: string) => graph.edges.some((e) => e.from === from && e.to === to);
    expect(has('controller/standalone/gateway.ts', 'dataplane/index.ts')).toBe(true);
    expect(has('dataplane/metrics.ts', 'controller/prometheus.ts')).toBe(true);
    expect(has('controller/health/probe.ts', 'node:https')).toBe(true);
    expect(graph.edges.find((e) => e.from === 'controller/api/snapshot.ts' && !e.external)?.typeOnly).toBe(
      true,
    );
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

  it('follows the folder dependencies of docs/architecture.md', () => {
    const violations = internal.filter((e) => !ruleFor(e.from).to.some((prefix) => e.to.startsWith(prefix)));
    expect(violations.map(describeEdge)).toEqual([]);
  });

  it('keeps the pure decision modules free of I/O', () => {
    const io = graph.edges.filter(
      (e) => e.external && !e.typeOnly && PURE.some((p) => e.from.startsWith(p)) && IO_MODULES.test(e.to),
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
