/**
 * Aggregation of datums per series over one flush interval: counters summed, gauges at their
 * latest value, distributions as value -> count maps plus exact statistic sets.
 */
import { type MetricDatum, type MetricKind, type StatisticSet, seriesKey, type Unit } from './datum.ts';

/**
 * Distinct values one distribution keeps per interval; past that, new values only feed a statistic
 * set (sums, counts, min and max stay exact; only the shape of the tail is lost). 1500 = ten
 * CloudWatch Values/Counts datums of 150.
 */
export const MAX_DISTINCT_VALUES = 1500;

/** One series' aggregate over an interval. */
export interface SeriesAggregate {
  key: string;
  namespace: string;
  name: string;
  unit: Unit;
  kind: MetricKind;
  dimensions: Readonly<Record<string, string>>;
  /** Latest datum timestamp seen (epoch ms). */
  timestamp: number;
  /** Counter: the sum of increments; gauge: the latest value; distribution: the sum of everything observed. */
  value: number;
  /** Distribution only: raw observations, value -> times observed. */
  observations?: Map<number, number>;
  /** Distribution only: raw observations that did not fit in `observations`. */
  overflow?: StatisticSet;
  /** Distribution only: statistic sets written as such. */
  sets?: StatisticSet;
  /** Distribution only: everything (observations, overflow and sets) as one statistic set. */
  total?: StatisticSet;
}

function mergeStats(into: StatisticSet | undefined, s: StatisticSet): StatisticSet {
  if (!into) return { ...s };
  into.sampleCount += s.sampleCount;
  into.sum += s.sum;
  if (s.min < into.min) into.min = s.min;
  if (s.max > into.max) into.max = s.max;
  return into;
}

/** Adds datums to per-series aggregates; `bucketMs` > 0 also splits series by time bucket. */
export class Aggregator {
  private series = new Map<string, SeriesAggregate>();

  constructor(private readonly bucketMs = 0) {}

  /** Series currently held. */
  get size(): number {
    return this.series.size;
  }

  /**
   * Adds one (already validated) datum. Returns a message when it conflicts with the series'
   * kind (the same name, unit and dimensions written as two kinds), in which case it is not added.
   */
  add(d: MetricDatum): string | undefined {
    let key = seriesKey(d);
    if (this.bucketMs > 0) key += `\u0000${Math.floor(d.timestamp / this.bucketMs)}`;
    let agg = this.series.get(key);
    if (!agg) {
      agg = {
        key,
        namespace: d.namespace,
        name: d.name,
        unit: d.unit,
        kind: d.kind,
        dimensions: d.dimensions,
        timestamp: d.timestamp,
        value: d.kind === 'gauge' ? (d.value as number) : 0,
      };
      this.series.set(key, agg);
    } else if (agg.kind !== d.kind) {
      return `${d.name} is written both as a ${agg.kind} and as a ${d.kind} with the same unit and dimensions`;
    }
    if (d.kind === 'counter') {
      agg.value += d.value as number;
      if (d.timestamp > agg.timestamp) agg.timestamp = d.timestamp;
    } else if (d.kind === 'gauge') {
      if (d.timestamp >= agg.timestamp) {
        agg.value = d.value as number;
        agg.timestamp = d.timestamp;
      }
    } else {
      if (d.timestamp > agg.timestamp) agg.timestamp = d.timestamp;
      if (d.statistics) {
        agg.sets = mergeStats(agg.sets, d.statistics);
        agg.total = mergeStats(agg.total, d.statistics);
        agg.value += d.statistics.sum;
      } else {
        const v = d.value as number;
        const one = { sampleCount: 1, sum: v, min: v, max: v };
        agg.total = mergeStats(agg.total, one);
        agg.value += v;
        agg.observations ??= new Map();
        const seen = agg.observations.get(v);
        if (seen !== undefined) agg.observations.set(v, seen + 1);
        else if (agg.observations.size < MAX_DISTINCT_VALUES) agg.observations.set(v, 1);
        else agg.overflow = mergeStats(agg.overflow, one);
      }
    }
    return undefined;
  }

  /** Every aggregate held, in insertion order. */
  values(): IterableIterator<SeriesAggregate> {
    return this.series.values();
  }

  /** Returns every aggregate and starts a new interval. */
  drain(): SeriesAggregate[] {
    const out = [...this.series.values()];
    this.series = new Map();
    return out;
  }
}
