/**
 * The one way ClusterLink processes declare Prometheus metrics: every metric is registered on the
 * process's registry (never prom-client's global one, so several gateways can share a process),
 * and label names given as a literal tuple type the metric's labels.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface MetricFactory {
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  gauge<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
  ): Histogram<L>;
}

export function metricsOn(registry: Registry): MetricFactory {
  const registers = [registry];
  return {
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, registers }),
    gauge: (name, help, labelNames = []) => new Gauge({ name, help, labelNames, registers }),
    histogram: (name, help, labelNames, buckets) =>
      new Histogram({ name, help, labelNames, buckets: [...buckets], registers }),
  };
}
