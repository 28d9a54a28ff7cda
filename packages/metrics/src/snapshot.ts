/**
 * JsonSnapshotSink: the output of every `--once --format json` command. One JSON object,
 * `{"metrics": [{"name", "unit", "kind", "dimensions", "value"}, ...]}`, where a counter's value is
 * its sum over the run, a gauge's its last value, and a distribution's the sum of its
 * observations (with `count`, `min` and `max` beside it). Sorted by name, then dimensions, then
 * unit, so two runs diff line by line.
 */
import type { Writable } from 'node:stream';
import type { Registry } from 'prom-client';
import { Aggregator } from './aggregate.ts';
import {
  emptyReport,
  type FlushReport,
  type MetricDatum,
  type MetricKind,
  type MetricSink,
  sortedDimensions,
  type Unit,
} from './datum.ts';
import { DropTracker } from './drops.ts';
import { type SinkLogger, silentLogger } from './logger.ts';
import { datumProblem } from './validate.ts';

/** One entry of the snapshot. */
export interface SnapshotMetric {
  name: string;
  unit: Unit;
  kind: MetricKind;
  dimensions: Record<string, string>;
  value: number;
  /** Distributions only. */
  count?: number;
  min?: number;
  max?: number;
}

/** The whole snapshot document. */
export interface Snapshot {
  metrics: SnapshotMetric[];
}

/** Settings of a {@link JsonSnapshotSink}. */
export interface JsonSnapshotSinkOptions {
  /** Where close() writes the document (e.g. process.stdout); none: call render() yourself. */
  stream?: Writable;
  logger?: SinkLogger;
  registry?: Registry;
  name?: string;
}

function compareDims(a: [string, string][], b: [string, string][]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const [ak, av] = a[i] as [string, string];
    const [bk, bv] = b[i] as [string, string];
    if (ak !== bk) return ak < bk ? -1 : 1;
    if (av !== bv) return av < bv ? -1 : 1;
  }
  return a.length - b.length;
}

/** Holds the whole run's metrics and renders them as one sorted JSON object. */
export class JsonSnapshotSink implements MetricSink {
  readonly name: string;
  private readonly aggregator = new Aggregator();
  private readonly drops: DropTracker;
  private closed = false;

  constructor(private readonly options: JsonSnapshotSinkOptions = {}) {
    this.name = options.name ?? 'json';
    this.drops = new DropTracker(this.name, options.logger ?? silentLogger, options.registry);
  }

  write(datums: readonly MetricDatum[]): void {
    if (this.closed) {
      this.drops.drop('closed', datums.length, 'written after close()');
      return;
    }
    for (const d of datums) {
      const invalid = datumProblem(d);
      const conflict = invalid ? undefined : this.aggregator.add(d);
      if (invalid) this.drops.drop('invalid', 1, invalid);
      else if (conflict) this.drops.drop('conflict', 1, conflict);
    }
  }

  /** The snapshot so far, sorted. */
  snapshot(): Snapshot {
    const rows = [...this.aggregator.values()].map((agg) => {
      const dims = sortedDimensions(agg.dimensions);
      const m: SnapshotMetric = {
        name: agg.name,
        unit: agg.unit,
        kind: agg.kind,
        dimensions: Object.fromEntries(dims),
        value: agg.value,
      };
      if (agg.total) {
        m.count = agg.total.sampleCount;
        m.min = agg.total.min;
        m.max = agg.total.max;
      }
      return { m, dims };
    });
    rows.sort((a, b) =>
      a.m.name !== b.m.name
        ? a.m.name < b.m.name
          ? -1
          : 1
        : compareDims(a.dims, b.dims) || (a.m.unit < b.m.unit ? -1 : a.m.unit > b.m.unit ? 1 : 0),
    );
    return { metrics: rows.map((r) => r.m) };
  }

  /** The snapshot as JSON text (two-space indented, one trailing newline). */
  render(): string {
    return `${JSON.stringify(this.snapshot(), null, 2)}\n`;
  }

  /** Nothing leaves until close(): a snapshot covers the whole run. */
  async flush(): Promise<FlushReport> {
    const report = emptyReport(this.name);
    report.pending = this.aggregator.size;
    report.dropped = this.drops.report();
    return report;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.drops.report();
    const stream = this.options.stream;
    if (stream) {
      const text = this.render();
      await new Promise<void>((resolve, reject) => stream.write(text, (err) => (err ? reject(err) : resolve())));
    }
  }
}
