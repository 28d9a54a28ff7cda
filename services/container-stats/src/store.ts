/**
 * A fixed ring of samples per container, in columns (one Float64Array per field), so memory per
 * container is constant and a removed container's ring is dropped whole.
 */
import type { ContainerSample } from './model.ts';

/** The columns kept per sample (what the page and the JSON API draw from). */
export const SERIES_FIELDS = [
  't',
  'cpuUsageNs',
  'cpuUserNs',
  'cpuSystemNs',
  'cfsPeriods',
  'cfsThrottledPeriods',
  'cfsThrottledNs',
  'memoryUsageBytes',
  'memoryWorkingSetBytes',
  'memoryRssBytes',
  'memoryCacheBytes',
  'pids',
  'netRxBytes',
  'netTxBytes',
  'ioReadBytes',
  'ioWriteBytes',
] as const;
export type SeriesField = (typeof SERIES_FIELDS)[number];

/** One row of a ring as stored (network and IO summed over interfaces and devices). */
export type StoredSample = Record<SeriesField, number>;

/** Sum of a numeric field over a list. */
function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  let s = 0;
  for (const x of xs) s += f(x);
  return s;
}

/** A ring of the last `capacity` samples. */
export class SampleRing {
  private readonly cols: Record<SeriesField, Float64Array>;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    const cols = {} as Record<SeriesField, Float64Array>;
    for (const f of SERIES_FIELDS) cols[f] = new Float64Array(capacity);
    this.cols = cols;
  }

  push(s: ContainerSample): void {
    const i = this.next;
    const c = this.cols;
    c.t[i] = s.t;
    c.cpuUsageNs[i] = s.cpuUsageNs;
    c.cpuUserNs[i] = s.cpuUserNs;
    c.cpuSystemNs[i] = s.cpuSystemNs;
    c.cfsPeriods[i] = s.cfsPeriods ?? Number.NaN;
    c.cfsThrottledPeriods[i] = s.cfsThrottledPeriods ?? Number.NaN;
    c.cfsThrottledNs[i] = s.cfsThrottledNs ?? Number.NaN;
    c.memoryUsageBytes[i] = s.memoryUsageBytes;
    c.memoryWorkingSetBytes[i] = s.memoryWorkingSetBytes;
    c.memoryRssBytes[i] = s.memoryRssBytes;
    c.memoryCacheBytes[i] = s.memoryCacheBytes;
    c.pids[i] = s.pids ?? Number.NaN;
    c.netRxBytes[i] = sum(s.network, (n) => n.rxBytes);
    c.netTxBytes[i] = sum(s.network, (n) => n.txBytes);
    c.ioReadBytes[i] = sum(s.io, (d) => d.readBytes);
    c.ioWriteBytes[i] = sum(s.io, (d) => d.writeBytes);
    this.next = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  size(): number {
    return this.count;
  }

  /** Samples oldest first, only those with t > sinceMs. */
  since(sinceMs = 0): StoredSample[] {
    const out: StoredSample[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % this.capacity;
      if ((this.cols.t[i] as number) <= sinceMs) continue;
      const row = {} as StoredSample;
      for (const f of SERIES_FIELDS) row[f] = this.cols[f][i] as number;
      out.push(row);
    }
    return out;
  }

  /** The newest sample, or undefined when empty. */
  last(): StoredSample | undefined {
    if (this.count === 0) return undefined;
    const i = (this.next - 1 + this.capacity) % this.capacity;
    const row = {} as StoredSample;
    for (const f of SERIES_FIELDS) row[f] = this.cols[f][i] as number;
    return row;
  }

  /** Bytes this ring holds (for /status). */
  bytes(): number {
    return SERIES_FIELDS.length * this.capacity * 8;
  }
}

/** Rates between consecutive stored samples: what the page and the JSON API show. */
export interface RatePoint {
  /** Unix seconds. */
  t: number;
  cpuCores: number;
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
  netRxBytesPerSecond: number;
  netTxBytesPerSecond: number;
  ioReadBytesPerSecond: number;
  ioWriteBytesPerSecond: number;
  throttledPeriodsPerSecond: number;
}

/** Per-second rates from cumulative samples (a counter that went backwards restarts at 0). */
export function toRates(rows: readonly StoredSample[]): RatePoint[] {
  const out: RatePoint[] = [];
  for (let k = 1; k < rows.length; k++) {
    const a = rows[k - 1] as StoredSample;
    const b = rows[k] as StoredSample;
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) continue;
    const rate = (x: number, y: number) => (y >= x ? (y - x) / dt : 0);
    out.push({
      t: b.t / 1000,
      cpuCores: rate(a.cpuUsageNs, b.cpuUsageNs) / 1e9,
      memoryWorkingSetBytes: b.memoryWorkingSetBytes,
      memoryUsageBytes: b.memoryUsageBytes,
      netRxBytesPerSecond: rate(a.netRxBytes, b.netRxBytes),
      netTxBytesPerSecond: rate(a.netTxBytes, b.netTxBytes),
      ioReadBytesPerSecond: rate(a.ioReadBytes, b.ioReadBytes),
      ioWriteBytesPerSecond: rate(a.ioWriteBytes, b.ioWriteBytes),
      throttledPeriodsPerSecond: Number.isNaN(b.cfsThrottledPeriods)
        ? 0
        : rate(a.cfsThrottledPeriods, b.cfsThrottledPeriods),
    });
  }
  return out;
}
