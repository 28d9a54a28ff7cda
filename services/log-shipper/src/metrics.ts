import type { Metrics, Unit } from '@windsock/metrics';

/** What the shipper reports; {@link shipperMetrics} sends it through `@windsock/metrics`, tests may pass their own. */
export interface ShipperMetrics {
  uploaded(kind: 'live' | 'final', bytes: number, lagSeconds: number | undefined): void;
  fileFinished(): void;
  failed(reason: FailureClass): void;
  retried(reason: FailureClass): void;
  reconciled(kind: 'prefix' | 'airflow-append' | 'foreign'): void;
  /** An object confirmed earlier was gone from S3 and is written again whole. */
  reestablished(): void;
  deleted(): void;
  backlog(files: number, bytes: number): void;
  diskFreeRatio(ratio: number): void;
}

/** A bounded set of failure causes (a metric dimension: its cardinality must not follow error texts). */
export type FailureClass =
  | 'throttled'
  | 'server_error'
  | 'timeout'
  | 'network'
  | 'client_error'
  | 'conflict'
  | 'integrity'
  | 'local_file'
  | 'other';

/** One published metric: its CloudWatch name, unit, kind and dimensions besides Cluster (the README's contract). */
export interface ShipperMetricSpec {
  name: string;
  unit: Unit;
  kind: 'counter' | 'gauge' | 'distribution';
  dimensions: readonly string[];
  help: string;
}

/** Every metric the log shipper publishes, by role. */
export const SHIPPER_METRICS = {
  filesShipped: {
    name: 'LogFilesShipped',
    unit: 'Count',
    kind: 'counter',
    dimensions: [],
    help: 'Files whose final version was confirmed in S3',
  },
  bytesShipped: {
    name: 'LogShippedBytes',
    unit: 'Bytes',
    kind: 'counter',
    dimensions: [],
    help: 'New bytes confirmed in S3 (a re-upload of a grown file counts only its growth)',
  },
  uploads: {
    name: 'LogUploads',
    unit: 'Count',
    kind: 'counter',
    dimensions: ['Kind'],
    help: 'Confirmed uploads; Kind = live (growing file) or final (finished file)',
  },
  shipLag: {
    name: 'LogShipLag',
    unit: 'Seconds',
    kind: 'distribution',
    dimensions: [],
    help: 'From the first unshipped write to those bytes being confirmed in S3, per upload',
  },
  failures: {
    name: 'LogShipFailures',
    unit: 'Count',
    kind: 'counter',
    dimensions: ['Reason'],
    help: 'Uploads that failed after their retries (the file stays in the backlog and is tried again)',
  },
  retries: {
    name: 'LogShipRetries',
    unit: 'Count',
    kind: 'counter',
    dimensions: ['Reason'],
    help: 'S3 requests retried',
  },
  reconciliations: {
    name: 'LogReconciliations',
    unit: 'Count',
    kind: 'counter',
    dimensions: ['Kind'],
    help: 'Objects found written by someone else; Kind = prefix, airflow-append or foreign',
  },
  reestablished: {
    name: 'LogObjectsReestablished',
    unit: 'Count',
    kind: 'counter',
    dimensions: [],
    help: 'Objects confirmed earlier but found gone from S3 (deleted, expired, bucket restored), written again whole',
  },
  localDeleted: {
    name: 'LocalLogsDeleted',
    unit: 'Count',
    kind: 'counter',
    dimensions: [],
    help: 'Local files deleted by retention after their final version was confirmed',
  },
  backlogFiles: {
    name: 'LogShipBacklogFiles',
    unit: 'Count',
    kind: 'gauge',
    dimensions: [],
    help: 'Files with bytes (or a final version) not yet confirmed in S3',
  },
  backlogBytes: {
    name: 'LogShipBacklogBytes',
    unit: 'Bytes',
    kind: 'gauge',
    dimensions: [],
    help: 'Bytes not yet confirmed in S3',
  },
  diskFree: {
    name: 'LogDiskFree',
    unit: 'Percent',
    kind: 'gauge',
    dimensions: [],
    help: 'Free space of the base log folder filesystem',
  },
} as const satisfies Record<string, ShipperMetricSpec>;

/** The shipper's metrics through the `@windsock/metrics` facade (sinks and the Cluster dimension are the facade's). */
export function shipperMetrics(metrics: Metrics): ShipperMetrics {
  const m = SHIPPER_METRICS;
  const files = metrics.counter(m.filesShipped.name, {}, m.filesShipped.unit);
  const bytes = metrics.counter(m.bytesShipped.name, {}, m.bytesShipped.unit);
  const lag = metrics.distribution(m.shipLag.name, {}, m.shipLag.unit);
  const deletions = metrics.counter(m.localDeleted.name, {}, m.localDeleted.unit);
  const reestablished = metrics.counter(m.reestablished.name, {}, m.reestablished.unit);
  const backlogFiles = metrics.gauge(m.backlogFiles.name, {}, m.backlogFiles.unit);
  const backlogBytes = metrics.gauge(m.backlogBytes.name, {}, m.backlogBytes.unit);
  const diskFree = metrics.gauge(m.diskFree.name, {}, m.diskFree.unit);
  return {
    uploaded(kind, n, lagSeconds) {
      metrics.counter(m.uploads.name, { Kind: kind }, m.uploads.unit).add();
      if (n > 0) bytes.add(n);
      if (lagSeconds !== undefined) lag.observe(lagSeconds);
    },
    fileFinished: () => files.add(),
    failed: (reason) => metrics.counter(m.failures.name, { Reason: reason }, m.failures.unit).add(),
    retried: (reason) => metrics.counter(m.retries.name, { Reason: reason }, m.retries.unit).add(),
    reconciled: (kind) => metrics.counter(m.reconciliations.name, { Kind: kind }, m.reconciliations.unit).add(),
    reestablished: () => reestablished.add(),
    deleted: () => deletions.add(),
    backlog(f, b) {
      backlogFiles.set(f);
      backlogBytes.set(b);
    },
    diskFreeRatio: (r) => diskFree.set(r * 100),
  };
}

/** Metrics that go nowhere (tests, benches). */
export const noShipperMetrics: ShipperMetrics = {
  uploaded() {},
  fileFinished() {},
  failed() {},
  retried() {},
  reconciled() {},
  reestablished() {},
  deleted() {},
  backlog() {},
  diskFreeRatio() {},
};
