import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the shipper reports; one implementation on Prometheus, tests may pass their own. */
export interface ShipperMetrics {
  uploaded(kind: 'live' | 'final', bytes: number, lagSeconds: number | undefined): void;
  fileFinished(): void;
  failed(reason: string): void;
  retried(reason: string): void;
  reconciled(kind: string): void;
  deleted(): void;
  backlog(files: number, bytes: number): void;
  diskFreeRatio(ratio: number): void;
}

/** Prometheus series (served at /metrics); names follow `windsock_log_shipper_*`. */
export function prometheusShipperMetrics(registry: Registry): ShipperMetrics {
  const p = 'windsock_log_shipper_';
  const uploads = new Counter({
    name: `${p}uploads_total`,
    help: 'Confirmed uploads by kind (live = growing file, final = finished file)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const bytes = new Counter({ name: `${p}bytes_shipped_total`, help: 'Bytes confirmed in S3', registers: [registry] });
  const files = new Counter({
    name: `${p}files_shipped_total`,
    help: 'Files whose final version is confirmed in S3',
    registers: [registry],
  });
  const lag = new Histogram({
    name: `${p}ship_lag_seconds`,
    help: 'From the first unshipped write seen to the bytes being confirmed in S3',
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const failures = new Counter({
    name: `${p}failures_total`,
    help: 'Uploads that failed after retries (the file stays in the backlog)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const retries = new Counter({
    name: `${p}retries_total`,
    help: 'S3 requests retried',
    labelNames: ['reason'],
    registers: [registry],
  });
  const reconciles = new Counter({
    name: `${p}reconciliations_total`,
    help: 'Objects found changed by someone else and reconciled',
    labelNames: ['kind'],
    registers: [registry],
  });
  const deletions = new Counter({
    name: `${p}local_files_deleted_total`,
    help: 'Local files deleted by retention after their final version was confirmed',
    registers: [registry],
  });
  const backlogFiles = new Gauge({
    name: `${p}backlog_files`,
    help: 'Files with bytes not yet confirmed in S3',
    registers: [registry],
  });
  const backlogBytes = new Gauge({
    name: `${p}backlog_bytes`,
    help: 'Bytes not yet confirmed in S3',
    registers: [registry],
  });
  const diskFree = new Gauge({
    name: `${p}disk_free_ratio`,
    help: 'Free fraction of the base log folder filesystem',
    registers: [registry],
  });
  return {
    uploaded(kind, n, lagSeconds) {
      uploads.inc({ kind });
      bytes.inc(n);
      if (lagSeconds !== undefined) lag.observe(lagSeconds);
    },
    fileFinished: () => files.inc(),
    failed: (reason) => failures.inc({ reason }),
    retried: (reason) => retries.inc({ reason }),
    reconciled: (kind) => reconciles.inc({ kind }),
    deleted: () => deletions.inc(),
    backlog(f, b) {
      backlogFiles.set(f);
      backlogBytes.set(b);
    },
    diskFreeRatio: (r) => diskFree.set(r),
  };
}

/** Metrics that go nowhere (tests, benches). */
export const noShipperMetrics: ShipperMetrics = {
  uploaded() {},
  fileFinished() {},
  failed() {},
  retried() {},
  reconciled() {},
  deleted() {},
  backlog() {},
  diskFreeRatio() {},
};
