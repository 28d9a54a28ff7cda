/**
 * @windsock/metrics: one datum model, one sink interface, and the sinks (CloudWatch
 * PutMetricData, Embedded Metric Format, Prometheus, JSON snapshot). See README.md.
 */
export { CloudWatchSink, type CloudWatchSinkOptions, METRICS_DROPPED } from './cloudwatch/sink.ts';
export {
  type FlushReport,
  type MetricDatum,
  type MetricKind,
  type MetricSink,
  type StatisticSet,
  UNITS,
  type Unit,
} from './datum.ts';
export type { DropReason } from './drops.ts';
export { type EmfDocument, EmfSink, type EmfSinkOptions } from './emf.ts';
export { type CreateSinksOptions, createSinks, SINK_NAMES, type SinkName } from './factory.ts';
export type { SinkLogger } from './logger.ts';
export {
  type CounterHandle,
  type DistributionHandle,
  type GaugeHandle,
  Metrics,
  type MetricsOptions,
} from './metrics.ts';
export { DEFAULT_BUCKETS, PrometheusSink, type PrometheusSinkOptions } from './prometheus.ts';
export { labelName, prometheusName } from './prometheus-names.ts';
export { JsonSnapshotSink, type JsonSnapshotSinkOptions, type Snapshot, type SnapshotMetric } from './snapshot.ts';
export { MetricValidationError } from './validate.ts';
