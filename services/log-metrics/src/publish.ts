import type { MetricDatum } from '@windsock/metrics';
import type { CounterSeries } from './counters.ts';

/** Counter increments as datums for the sinks (every log-metrics counter is a Count). */
export function toDatums(
  series: readonly CounterSeries[],
  target: { namespace: string },
  now = Date.now(),
): MetricDatum[] {
  return series.map((s) => ({
    namespace: target.namespace,
    name: s.name,
    unit: 'Count',
    kind: 'counter',
    dimensions: s.dimensions,
    value: s.value,
    timestamp: now,
  }));
}
