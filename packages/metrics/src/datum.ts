/**
 * The one datum model every sink reads, and the one sink interface every sink implements.
 */

/** CloudWatch's StandardUnit names; the other sinks translate from these. */
export const UNITS = [
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
] as const;

/** A CloudWatch StandardUnit name. */
export type Unit = (typeof UNITS)[number];

/**
 * counter: `value` is an increment (summed); gauge: `value` is a level (last one wins);
 * distribution: `value` is one observation, or `statistics` a pre-aggregated set of them.
 */
export type MetricKind = 'counter' | 'gauge' | 'distribution';

/** A pre-aggregated set of observations (CloudWatch's StatisticSet). */
export interface StatisticSet {
  sampleCount: number;
  sum: number;
  min: number;
  max: number;
}

/** One measurement. Exactly one of `value` and `statistics` is set (`statistics` only for distributions). */
export interface MetricDatum {
  namespace: string;
  name: string;
  unit: Unit;
  kind: MetricKind;
  dimensions: Readonly<Record<string, string>>;
  value?: number;
  statistics?: StatisticSet;
  /** Epoch milliseconds. */
  timestamp: number;
}

/** What one `flush()` of a sink did. */
export interface FlushReport {
  sink: string;
  /** Datums (after aggregation) that left the process, or were rendered, in this flush. */
  sent: number;
  /** Datums still held for a later flush (e.g. while CloudWatch is unreachable). */
  pending: number;
  /** Datums given up in this flush (buffer full, rejected, unsupported); each is also logged and counted. */
  dropped: number;
  /** API requests made (HTTP attempts, retries included). */
  requests: number;
  /** Attempts that failed and were retried. */
  retries: number;
  /** One line per failure that was not retried away. */
  errors: string[];
}

/** Where datums go. `write` never throws on bad data: it drops, counts and logs it. */
export interface MetricSink {
  readonly name: string;
  write(datums: readonly MetricDatum[]): void;
  flush(): Promise<FlushReport>;
  /** Flush what is pending and release resources; later writes are dropped and counted. */
  close(): Promise<void>;
}

/** An empty report for `sink`, to be filled in by a flush. */
export function emptyReport(sink: string): FlushReport {
  return { sink, sent: 0, pending: 0, dropped: 0, requests: 0, retries: 0, errors: [] };
}

/** Dimension entries sorted by name: the canonical order used for keys, output and sorting. */
export function sortedDimensions(dimensions: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(dimensions).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** A stable identity for a series: namespace, name, unit and dimensions (in name order). */
export function seriesKey(d: Pick<MetricDatum, 'namespace' | 'name' | 'unit' | 'dimensions'>): string {
  // \u0000 never occurs in valid names or values (validation rejects control characters in names).
  let key = `${d.namespace}\u0000${d.name}\u0000${d.unit}`;
  for (const [k, v] of sortedDimensions(d.dimensions)) key += `\u0000${k}\u0001${v}`;
  return key;
}
