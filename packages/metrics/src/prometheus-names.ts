/**
 * Prometheus naming: snake_case, a `windsock_` prefix, base units in the name (`_seconds`,
 * `_bytes`, `_ratio`) with values converted to them, and `_total` on counters.
 */
import type { MetricKind, Unit } from './datum.ts';

/** How a CloudWatch unit appears in a Prometheus name, and the factor that converts values to it. */
export interface PrometheusUnit {
  suffix: string;
  factor: number;
}

const KIB = 1024;
const UNIT_MAP: Record<Unit, PrometheusUnit> = {
  Seconds: { suffix: 'seconds', factor: 1 },
  Milliseconds: { suffix: 'seconds', factor: 1e-3 },
  Microseconds: { suffix: 'seconds', factor: 1e-6 },
  Bytes: { suffix: 'bytes', factor: 1 },
  Kilobytes: { suffix: 'bytes', factor: KIB },
  Megabytes: { suffix: 'bytes', factor: KIB ** 2 },
  Gigabytes: { suffix: 'bytes', factor: KIB ** 3 },
  Terabytes: { suffix: 'bytes', factor: KIB ** 4 },
  Bits: { suffix: 'bytes', factor: 1 / 8 },
  Kilobits: { suffix: 'bytes', factor: KIB / 8 },
  Megabits: { suffix: 'bytes', factor: KIB ** 2 / 8 },
  Gigabits: { suffix: 'bytes', factor: KIB ** 3 / 8 },
  Terabits: { suffix: 'bytes', factor: KIB ** 4 / 8 },
  Percent: { suffix: 'ratio', factor: 1e-2 },
  Count: { suffix: '', factor: 1 },
  'Bytes/Second': { suffix: 'bytes_per_second', factor: 1 },
  'Kilobytes/Second': { suffix: 'bytes_per_second', factor: KIB },
  'Megabytes/Second': { suffix: 'bytes_per_second', factor: KIB ** 2 },
  'Gigabytes/Second': { suffix: 'bytes_per_second', factor: KIB ** 3 },
  'Terabytes/Second': { suffix: 'bytes_per_second', factor: KIB ** 4 },
  'Bits/Second': { suffix: 'bytes_per_second', factor: 1 / 8 },
  'Kilobits/Second': { suffix: 'bytes_per_second', factor: KIB / 8 },
  'Megabits/Second': { suffix: 'bytes_per_second', factor: KIB ** 2 / 8 },
  'Gigabits/Second': { suffix: 'bytes_per_second', factor: KIB ** 3 / 8 },
  'Terabits/Second': { suffix: 'bytes_per_second', factor: KIB ** 4 / 8 },
  'Count/Second': { suffix: 'per_second', factor: 1 },
  None: { suffix: '', factor: 1 },
};

/** The Prometheus unit for a CloudWatch unit. */
export function prometheusUnit(unit: Unit): PrometheusUnit {
  return UNIT_MAP[unit];
}

/** `TasksFailed` -> `tasks_failed`, `HTTPRequestCount` -> `http_request_count`, `a.b-c` -> `a_b_c`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

/** A dimension name as a Prometheus label name (snake_case, never starting with a digit or `__`). */
export function labelName(dimension: string): string {
  const s = snakeCase(dimension);
  return /^[a-z_]/.test(s) ? s : `_${s}`;
}

/** The full Prometheus name of a metric, e.g. (`TaskDuration`, distribution, Milliseconds) -> `windsock_task_duration_seconds`. */
export function prometheusName(name: string, kind: MetricKind, unit: Unit, prefix = 'windsock_'): string {
  let base = snakeCase(name);
  if (prefix && !base.startsWith(prefix)) base = `${prefix}${base}`;
  if (!/^[a-zA-Z_]/.test(base)) base = `_${base}`;
  const { suffix } = prometheusUnit(unit);
  // Counters end in _total: strip it (and the unit) first so neither appears twice.
  if (base.endsWith('_total')) base = base.slice(0, -'_total'.length);
  if (suffix && !base.endsWith(`_${suffix}`)) base = `${base}_${suffix}`;
  if (kind === 'counter') return `${base}_total`;
  // Only histograms and summaries may own these suffixes (promtool lint); a gauge keeps its word.
  return /_(count|sum|bucket)$/.test(base) ? `${base}_current` : base;
}
