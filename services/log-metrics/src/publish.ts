import type { MetricDatum } from '@windsock/metrics';
import { type CounterSeries, HEARTBEAT_VALUES } from './counters.ts';

/** Counter increments as datums for the sinks (Counts), and heartbeat values as gauges in Seconds. */
export function toDatums(
  series: readonly CounterSeries[],
  target: { namespace: string },
  now = Date.now(),
): MetricDatum[] {
  return series.map((s) => ({
    namespace: target.namespace,
    name: s.name,
    ...(s.name in HEARTBEAT_VALUES
      ? { unit: 'Seconds' as const, kind: 'gauge' as const }
      : { unit: 'Count', kind: 'counter' }),
    dimensions: s.dimensions,
    value: s.value,
    timestamp: now,
  }));
}
