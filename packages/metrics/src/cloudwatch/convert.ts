/**
 * From one interval's aggregates to PutMetricData datums: counters and gauges as one Value;
 * distributions as Values/Counts (at most 150 pairs per datum, AWS's limit) plus, for what has no
 * individual values (statistic sets, values past the distinct-value cap), one StatisticValues.
 */
import type { MetricDatum as CwDatum, Dimension, StandardUnit } from '@aws-sdk/client-cloudwatch';
import type { SeriesAggregate } from '../aggregate.ts';
import { type StatisticSet, sortedDimensions } from '../datum.ts';

/** At most this many entries in a datum's Values and Counts arrays (PutMetricData). */
export const MAX_VALUES_PER_DATUM = 150;

/** A PutMetricData datum with the namespace it belongs to (a request carries one namespace). */
export interface PendingDatum {
  namespace: string;
  datum: CwDatum;
  /** Estimated bytes of this datum in a request body; see batch.ts. */
  bytes: number;
}

function statisticValues(s: StatisticSet) {
  return { SampleCount: s.sampleCount, Sum: s.sum, Minimum: s.min, Maximum: s.max };
}

function merged(a: StatisticSet | undefined, b: StatisticSet | undefined): StatisticSet | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    sampleCount: a.sampleCount + b.sampleCount,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  };
}

/** The PutMetricData datums for one aggregate (one, or more for a distribution with many values). */
export function toCloudWatchData(agg: SeriesAggregate): CwDatum[] {
  const dims = sortedDimensions(agg.dimensions);
  const base: CwDatum = {
    MetricName: agg.name,
    Timestamp: new Date(agg.timestamp),
    Unit: agg.unit as StandardUnit,
  };
  if (dims.length > 0) base.Dimensions = dims.map(([Name, Value]): Dimension => ({ Name, Value }));
  if (agg.kind !== 'distribution') return [{ ...base, Value: agg.value }];
  const out: CwDatum[] = [];
  if (agg.observations && agg.observations.size > 0) {
    let values: number[] = [];
    let counts: number[] = [];
    for (const [v, n] of agg.observations) {
      values.push(v);
      counts.push(n);
      if (values.length === MAX_VALUES_PER_DATUM) {
        out.push({ ...base, Values: values, Counts: counts });
        values = [];
        counts = [];
      }
    }
    if (values.length > 0) out.push({ ...base, Values: values, Counts: counts });
  }
  const rest = merged(agg.overflow, agg.sets);
  if (rest) out.push({ ...base, StatisticValues: statisticValues(rest) });
  return out;
}
