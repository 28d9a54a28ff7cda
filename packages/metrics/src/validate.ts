/**
 * The limits every datum must meet before any sink sees it: CloudWatch's, which are the strictest
 * of the sinks' (PutMetricData: MetricDatum, Dimension; EMF: 30 dimensions per set).
 */
import { type MetricDatum, type MetricKind, UNITS, type Unit } from './datum.ts';

/** Most dimensions one series may carry (CloudWatch PutMetricData and EMF). */
export const MAX_DIMENSIONS = 30;
/** Longest metric name, namespace or dimension name (CloudWatch). */
export const MAX_NAME_LENGTH = 255;
/** Longest dimension value (CloudWatch). */
export const MAX_DIMENSION_VALUE_LENGTH = 1024;

const UNIT_SET: ReadonlySet<string> = new Set(UNITS);
const KINDS: ReadonlySet<string> = new Set(['counter', 'gauge', 'distribution']);
const CONTROL = /[\u0000-\u001f\u007f]/;
const NAMESPACE = /^[0-9A-Za-z.\-_/#: ]+$/;

/** A datum (or a metric handle) that breaks a limit; the message says which and what is allowed. */
export class MetricValidationError extends Error {
  override readonly name = 'MetricValidationError';
}

function fail(msg: string): never {
  throw new MetricValidationError(msg);
}

/** Checks a namespace: 1-255 of [0-9A-Za-z.-_/#: ], not starting with "AWS/". */
export function validateNamespace(namespace: string): void {
  if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > MAX_NAME_LENGTH) {
    fail(`metric namespace must be 1-${MAX_NAME_LENGTH} characters, got ${JSON.stringify(namespace)}`);
  }
  if (!NAMESPACE.test(namespace)) {
    fail(`metric namespace ${JSON.stringify(namespace)} may only contain letters, digits, space and . - _ / # :`);
  }
  if (namespace.startsWith('AWS/')) fail(`metric namespace ${JSON.stringify(namespace)} must not start with "AWS/"`);
}

/** Checks a metric name: 1-255 characters, not only whitespace, no control characters. */
export function validateMetricName(name: string): void {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > MAX_NAME_LENGTH || CONTROL.test(name)) {
    fail(
      `metric name must be 1-${MAX_NAME_LENGTH} printable characters, not only whitespace, got ${JSON.stringify(name)}`,
    );
  }
}

/** Checks a unit against CloudWatch's StandardUnit names. */
export function validateUnit(unit: string): asserts unit is Unit {
  if (!UNIT_SET.has(unit))
    fail(`unit ${JSON.stringify(unit)} is not a CloudWatch unit; use one of ${UNITS.join(', ')}`);
}

/** Checks a dimension set: at most 30; names 1-255 and not starting with ':'; values 1-1024; no control characters. */
export function validateDimensions(metric: string, dimensions: Readonly<Record<string, string>>): void {
  if (dimensions === null || typeof dimensions !== 'object') fail(`dimensions of ${metric} must be an object`);
  const names = Object.keys(dimensions);
  if (names.length > MAX_DIMENSIONS) {
    fail(`${metric} has ${names.length} dimensions; CloudWatch allows at most ${MAX_DIMENSIONS}`);
  }
  for (const dim of names) {
    if (dim.trim().length === 0 || dim.length > MAX_NAME_LENGTH || dim.startsWith(':') || CONTROL.test(dim)) {
      fail(
        `${metric}: dimension name ${JSON.stringify(dim)} must be 1-${MAX_NAME_LENGTH} printable characters, not only whitespace, not starting with ':'`,
      );
    }
    const value = dimensions[dim];
    if (typeof value !== 'string' || value.trim().length === 0) {
      fail(`${metric}: dimension ${dim} must have a non-empty string value, got ${JSON.stringify(value)}`);
    }
    if (value.length > MAX_DIMENSION_VALUE_LENGTH || CONTROL.test(value)) {
      fail(
        `${metric}: dimension ${dim} value must be at most ${MAX_DIMENSION_VALUE_LENGTH} printable characters (got ${value.length})`,
      );
    }
  }
}

/** Checks one number to be recorded: finite, and not negative for a counter increment. */
export function validateValue(metric: string, kind: MetricKind, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    fail(`${metric}: value must be a finite number, got ${String(value)}`);
  }
  if (kind === 'counter' && value < 0) fail(`${metric}: a counter only goes up; got an increment of ${value}`);
}

/** Checks a whole datum; throws {@link MetricValidationError} naming what is wrong. */
export function validateDatum(d: MetricDatum): void {
  validateNamespace(d.namespace);
  validateMetricName(d.name);
  validateUnit(d.unit);
  if (!KINDS.has(d.kind)) fail(`${d.name}: kind must be counter, gauge or distribution, got ${JSON.stringify(d.kind)}`);
  validateDimensions(d.name, d.dimensions);
  if (!Number.isFinite(d.timestamp))
    fail(`${d.name}: timestamp must be epoch milliseconds, got ${String(d.timestamp)}`);
  if (d.statistics !== undefined) {
    if (d.kind !== 'distribution') fail(`${d.name}: only a distribution may carry a statistic set`);
    if (d.value !== undefined) fail(`${d.name}: set either value or statistics, not both`);
    const s = d.statistics;
    for (const k of ['sampleCount', 'sum', 'min', 'max'] as const) validateValue(`${d.name}.${k}`, 'gauge', s[k]);
    if (s.sampleCount <= 0 || s.min > s.max) {
      fail(`${d.name}: statistic set needs sampleCount > 0 and min <= max, got ${JSON.stringify(s)}`);
    }
  } else {
    if (d.value === undefined) fail(`${d.name}: a datum needs a value (or statistics for a distribution)`);
    validateValue(d.name, d.kind, d.value);
  }
}

/** Returns the error message for an invalid datum, or undefined if it is valid. */
export function datumProblem(d: MetricDatum): string | undefined {
  try {
    validateDatum(d);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const NON_ASCII = /[^\u0020-\u007e]/g;

/**
 * A datum whose dimension names and values CloudWatch accepts: CloudWatch allows only ASCII there
 * (API Dimension), so any other character is written as a `\uXXXX` escape, which keeps distinct
 * series distinct. Returns the datum itself when nothing needs escaping, or a message when an
 * escaped value would pass the 1024-character limit.
 */
export function cloudWatchSafe(d: MetricDatum): MetricDatum | string {
  let changed = false;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.dimensions)) {
    const ek = k.replace(NON_ASCII, escapeChar);
    const ev = v.replace(NON_ASCII, escapeChar);
    if (ek !== k || ev !== v) changed = true;
    if (ek.length > MAX_NAME_LENGTH || ev.length > MAX_DIMENSION_VALUE_LENGTH) {
      return `${d.name}: dimension ${JSON.stringify(k)} is too long for CloudWatch once its non-ASCII characters are escaped`;
    }
    out[ek] = ev;
  }
  return changed ? { ...d, dimensions: out } : d;
}

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
