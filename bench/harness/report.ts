/**
 * Figures per path, medians over repetitions, and the table with ratios to HAProxy and to direct,
 * against the targets of the data-plane issue. Pure.
 */

export interface PathFigures {
  bulk1Gbps?: number;
  bulk8Gbps?: number;
  rrP50us?: number;
  rrP99us?: number;
  setupP50ms?: number;
  setupP99ms?: number;
  rate8?: number;
  idleKbA?: number;
  idleKbB?: number;
  cpuPerGb1?: number;
  cpuPerGb8?: number;
  cpuMsPerConn?: number;
  /** Largest share of a core other processes used during a test (noise gauge). */
  noise?: number;
}

export type Metric = keyof Omit<PathFigures, 'noise'>;

interface Row {
  readonly metric: Metric;
  readonly label: string;
  readonly digits: number;
  readonly better: 'higher' | 'lower';
  /** Target as a ratio to HAProxy (or an absolute bound for `absolute`). */
  readonly target?: { readonly ratio?: number; readonly absolute?: number };
}

export const ROWS: readonly Row[] = [
  {
    metric: 'bulk1Gbps',
    label: 'throughput, 1 stream (Gbit/s)',
    digits: 2,
    better: 'higher',
    target: { ratio: 1.0 },
  },
  {
    metric: 'bulk8Gbps',
    label: 'throughput, 8 streams (Gbit/s)',
    digits: 2,
    better: 'higher',
    target: { ratio: 1.0 },
  },
  {
    metric: 'rrP50us',
    label: 'request/response p50 (µs)',
    digits: 0,
    better: 'lower',
    target: { ratio: 1.0 },
  },
  { metric: 'rrP99us', label: 'request/response p99 (µs)', digits: 0, better: 'lower' },
  {
    metric: 'setupP50ms',
    label: 'new connection p50 (ms)',
    digits: 3,
    better: 'lower',
    target: { ratio: 0.3 },
  },
  { metric: 'setupP99ms', label: 'new connection p99 (ms)', digits: 3, better: 'lower' },
  {
    metric: 'rate8',
    label: 'new connections/s, 8 parallel',
    digits: 0,
    better: 'higher',
    target: { ratio: 3.0 },
  },
  {
    metric: 'cpuPerGb1',
    label: 'gateway CPU s/GB, 1 stream',
    digits: 2,
    better: 'lower',
    target: { ratio: 1.1 },
  },
  { metric: 'cpuPerGb8', label: 'gateway CPU s/GB, 8 streams', digits: 2, better: 'lower' },
  { metric: 'cpuMsPerConn', label: 'gateway CPU ms/connection', digits: 3, better: 'lower' },
  {
    metric: 'idleKbA',
    label: 'KB per idle tunnel, gateway A',
    digits: 1,
    better: 'lower',
    target: { absolute: 32 },
  },
  {
    metric: 'idleKbB',
    label: 'KB per idle tunnel, gateway B',
    digits: 1,
    better: 'lower',
    target: { absolute: 32 },
  },
];

export function median(values: readonly number[]): number | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Median of each metric over the repetitions of one path. */
export function medians(reps: readonly PathFigures[]): PathFigures {
  const out: PathFigures = {};
  const keys = new Set(reps.flatMap((r) => Object.keys(r))) as Set<keyof PathFigures>;
  for (const k of keys) {
    const m = median(reps.map((r) => r[k]).filter((x): x is number => x !== undefined));
    if (m !== undefined) out[k] = m;
  }
  return out;
}

function fmt(value: number | undefined, digits: number): string {
  return value === undefined ? '—' : value.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/**
 * Markdown table: one column per path, then ours/HAProxy, ours/direct (and node-floor/HAProxy when
 * that path ran), target and verdict.
 */
export function table(figures: Record<string, PathFigures>, ours = 'ours'): string {
  const paths = Object.keys(figures);
  const mine = figures[ours];
  const ref = figures.haproxy;
  const direct = figures.direct;
  const floor = figures['node-floor'];
  const header = [
    'metric',
    ...paths,
    `${ours}/haproxy`,
    `${ours}/direct`,
    ...(floor ? ['node-floor/haproxy'] : []),
    'target',
    'met',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of ROWS) {
    const cells = [row.label, ...paths.map((p) => fmt(figures[p]?.[row.metric], row.digits))];
    const toRef = ratio(mine?.[row.metric], ref?.[row.metric]);
    const toDirect = ratio(mine?.[row.metric], direct?.[row.metric]);
    cells.push(
      fmt(toRef, 2) + (toRef === undefined ? '' : 'x'),
      fmt(toDirect, 2) + (toDirect === undefined ? '' : 'x'),
    );
    if (floor) {
      const floorToRef = ratio(floor[row.metric], ref?.[row.metric]);
      cells.push(fmt(floorToRef, 2) + (floorToRef === undefined ? '' : 'x'));
    }
    let target = '';
    let met = '';
    if (row.target?.ratio !== undefined) {
      target = `${row.better === 'higher' ? '≥' : '≤'} ${row.target.ratio}x`;
      if (toRef !== undefined)
        met = (row.better === 'higher' ? toRef >= row.target.ratio : toRef <= row.target.ratio)
          ? 'yes'
          : 'no';
    } else if (row.target?.absolute !== undefined) {
      target = `≤ ${row.target.absolute}`;
      const v = mine?.[row.metric];
      if (v !== undefined) met = v <= row.target.absolute ? 'yes' : 'no';
    }
    cells.push(target, met);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const noise = paths.map((p) => `${p} ${fmt((figures[p]?.noise ?? 0) * 100, 0)}%`).join(', ');
  lines.push('', `Other processes' CPU during the tests (share of one core, worst test): ${noise}.`);
  return lines.join('\n');
}
