/**
 * Policy decision time with 10, 1,000 and 10,000 policies loaded.
 *
 * Two policy sets per size:
 * - "typical": AccessPolicies spread over namespaces (100 per namespace), each allowing a peer and
 *   client namespace to reach one export, a few client-label denies, plus privileged policies; the
 *   engine narrows these down by its indexes.
 * - "unindexed": every policy in the decision's namespace uses only Exists/NotIn selectors, so the
 *   engine must evaluate all of them (worst case: a linear scan).
 * Run on its own: `node lib/bench/policy.js`. `bench:controlplane` calls `benchmarkPolicy()`.
 */
import { performance } from 'node:perf_hooks';
import { PolicyEngine } from '../kernel/policy/engine';
import type { Attributes, PolicyObject } from '../kernel/policy/types';

export interface PolicyBenchRow {
  readonly scenario: 'typical' | 'unindexed';
  readonly policies: number;
  readonly decisions: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Share of the sampled decisions that allowed (a sanity check that the workload is not trivial). */
  readonly allowedShare: number;
}

const PEERS = ['east', 'west', 'north', 'south'];

function typicalPolicies(count: number): PolicyObject[] {
  const policies: PolicyObject[] = [];
  const privileged = Math.max(1, Math.floor(count / 100));
  for (let i = 0; i < privileged; i++) {
    policies.push({
      name: `priv-deny-${i}`,
      spec: {
        action: 'deny',
        from: [{ workloadSelector: { matchLabels: { 'peer.clusterlink.net/labels.quarantine': `q${i}` } } }],
        to: [{ workloadSelector: {} }],
      },
    });
  }
  for (let i = policies.length; i < count; i++) {
    const namespace = `ns-${Math.floor(i / 100)}`;
    const deny = i % 20 === 0;
    policies.push({
      name: `policy-${i}`,
      namespace,
      spec: {
        action: deny ? 'deny' : 'allow',
        from: [
          {
            workloadSelector: deny
              ? {
                  matchExpressions: [
                    { key: 'client.clusterlink.net/labels.tier', operator: 'In', values: ['untrusted'] },
                  ],
                }
              : {
                  matchLabels: {
                    'peer.clusterlink.net/name': PEERS[i % PEERS.length],
                    'client.clusterlink.net/namespace': `client-${i % 7}`,
                  },
                },
          },
        ],
        to: [{ workloadSelector: { matchLabels: { 'export.clusterlink.net/name': `svc-${i % 100}` } } }],
      },
    });
  }
  return policies;
}

function unindexedPolicies(count: number): PolicyObject[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `scan-${i}`,
    namespace: 'ns-0',
    spec: {
      action: i === count - 1 ? 'allow' : 'deny',
      from: [
        {
          workloadSelector: {
            matchExpressions: [{ key: `client.clusterlink.net/labels.k${i}`, operator: 'Exists' }],
          },
        },
      ],
      to: [
        {
          workloadSelector: {
            matchExpressions: [{ key: 'export.clusterlink.net/name', operator: 'Exists' }],
          },
        },
      ],
    },
  })) as PolicyObject[];
}

/** Deterministic connection mix so runs are comparable. */
function connections(count: number, policies: number, scenario: PolicyBenchRow['scenario']) {
  const namespaces = Math.max(1, Math.ceil(policies / 100));
  return Array.from({ length: count }, (_, i) => {
    const source: Attributes = {
      'peer.clusterlink.net/name': PEERS[(i * 7) % PEERS.length],
      'client.clusterlink.net/namespace': `client-${(i * 3) % 7}`,
      'client.clusterlink.net/service-account': 'default',
      'client.clusterlink.net/labels.tier': i % 13 === 0 ? 'untrusted' : 'web',
      ...(scenario === 'unindexed' ? { [`client.clusterlink.net/labels.k${policies - 1}`]: 'x' } : {}),
    };
    const destination: Attributes = {
      'export.clusterlink.net/name': `svc-${(i * 11) % 100}`,
      'export.clusterlink.net/namespace': 'default',
      'peer.clusterlink.net/name': 'local',
    };
    return {
      source,
      destination,
      namespace: scenario === 'unindexed' ? 'ns-0' : `ns-${(i * 5) % namespaces}`,
    };
  });
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

export function benchmarkPolicyOnce(
  scenario: PolicyBenchRow['scenario'],
  policies: number,
  decisions = 200_000,
): PolicyBenchRow {
  const engine = new PolicyEngine(
    scenario === 'typical' ? typicalPolicies(policies) : unindexedPolicies(policies),
  );
  if (engine.invalid.length > 0) throw new Error(`benchmark policy invalid: ${engine.invalid[0].error}`);
  const conns = connections(1024, policies, scenario);
  let allowed = 0;
  // Warm up so the JIT has compiled decide() before timing.
  for (let i = 0; i < Math.min(20_000, decisions); i++) {
    const c = conns[i & 1023];
    engine.decide(c.source, c.destination, c.namespace);
  }
  // Mean: one timed loop (no per-call timer overhead).
  const start = performance.now();
  for (let i = 0; i < decisions; i++) {
    const c = conns[i & 1023];
    if (engine.decide(c.source, c.destination, c.namespace).action === 'allow') allowed++;
  }
  const meanUs = ((performance.now() - start) * 1000) / decisions;
  // Percentiles: individually timed decisions (includes ~0.05 us of timer overhead each).
  const samples = new Float64Array(Math.min(decisions, 20_000));
  for (let i = 0; i < samples.length; i++) {
    const c = conns[i & 1023];
    const t0 = performance.now();
    engine.decide(c.source, c.destination, c.namespace);
    samples[i] = (performance.now() - t0) * 1000;
  }
  samples.sort();
  return {
    scenario,
    policies,
    decisions,
    meanUs,
    p50Us: percentile(samples, 0.5),
    p99Us: percentile(samples, 0.99),
    allowedShare: allowed / decisions,
  };
}

/** Enough decisions for stable figures while keeping the linear-scan case to a second or so. */
function decisionsFor(scenario: PolicyBenchRow['scenario'], size: number): number {
  return scenario === 'typical' ? 100_000 : Math.max(2_000, Math.min(100_000, Math.floor(20_000_000 / size)));
}

/** Decision time with 10, 1,000 and 10,000 policies, typical and unindexed sets. */
export function benchmarkPolicy(sizes: readonly number[] = [10, 1_000, 10_000]): PolicyBenchRow[] {
  const rows: PolicyBenchRow[] = [];
  for (const scenario of ['typical', 'unindexed'] as const) {
    for (const size of sizes) rows.push(benchmarkPolicyOnce(scenario, size, decisionsFor(scenario, size)));
  }
  return rows;
}

export function formatPolicyTable(rows: readonly PolicyBenchRow[]): string {
  const header = 'scenario    policies   mean µs    p50 µs    p99 µs   vs 10 policies   allowed';
  const lines = rows.map((row) => {
    const base = rows.find(
      (r) =>
        r.scenario === row.scenario &&
        r.policies === Math.min(...rows.filter((x) => x.scenario === row.scenario).map((x) => x.policies)),
    );
    const ratio = base ? row.meanUs / base.meanUs : 1;
    return [
      row.scenario.padEnd(10),
      String(row.policies).padStart(9),
      row.meanUs.toFixed(3).padStart(9),
      row.p50Us.toFixed(3).padStart(9),
      row.p99Us.toFixed(3).padStart(9),
      `${ratio.toFixed(2)}x`.padStart(16),
      `${(row.allowedShare * 100).toFixed(0)}%`.padStart(9),
    ].join(' ');
  });
  return [header, ...lines].join('\n');
}

if (require.main === module) {
  console.log('Policy decision time (PolicyEngine.decide)');
  console.log(formatPolicyTable(benchmarkPolicy()));
}
