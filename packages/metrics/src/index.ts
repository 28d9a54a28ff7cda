/**
 * @windsock/metrics: one datum model, one sink interface, and the sinks (CloudWatch
 * PutMetricData, Embedded Metric Format, Prometheus, JSON snapshot). See README.md.
 */
export { type Batch, datumBytes, MAX_DATUMS_PER_REQUEST, MAX_REQUEST_BYTES, planBatches } from './cloudwatch/batch.ts';
export { MAX_VALUES_PER_DATUM } from './cloudwatch/convert.ts';
export { backoffMs, classify, type RequestOutcome } from './cloudwatch/retry.ts';
export { CloudWatchSink, type CloudWatchSinkOptions, METRICS_DROPPED } from './cloudwatch/sink.ts';
export {
  type FlushReport,
  type MetricDatum,
  type MetricKind,
  type MetricSink,
  type StatisticSet,
  seriesKey,
  UNITS,
  type Unit,
} from './datum.ts';
export type { DropReason } from './drops.ts';
export { EMF_MAX_METRICS, EMF_MAX_VALUES, type EmfDocument, EmfSink, type EmfSinkOptions } from './emf.ts';
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
export { labelName, prometheusName, snakeCase } from './prometheus-names.ts';
export { JsonSnapshotSink, type JsonSnapshotSinkOptions, type Snapshot, type SnapshotMetric } from './snapshot.ts';
export { MAX_DIMENSION_VALUE_LENGTH, MAX_DIMENSIONS, MetricValidationError, validateDatum } from './validate.ts';
