/**
 * PrometheusSink: datums into prom-client metrics in a Registry the process serves on /metrics.
 * Counters are cumulative, gauges hold the last value, and distributions are histograms (they add
 * up across workers and instances in PromQL, which summaries do not), with buckets chosen by unit.
 * A statistic set is observed `sampleCount` times at its mean: count and sum stay exact, only
 * its bucket placement is approximate.
 *
 * A Prometheus metric has one type and one label set: a datum that would change either for an
 * existing name is dropped and counted (reason "conflict").
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  emptyReport,
  type FlushReport,
  type MetricDatum,
  type MetricKind,
  type MetricSink,
  type Unit,
} from './datum.ts';
import { DropTracker } from './drops.ts';
import { type SinkLogger, silentLogger } from './logger.ts';
import { labelName, prometheusName, prometheusUnit } from './prometheus-names.ts';
import { datumProblem } from './validate.ts';

/** Histogram buckets per Prometheus base unit (in that unit). */
export const DEFAULT_BUCKETS: Record<string, number[]> = {
  // Up to an hour: Airflow task and poll durations span milliseconds to long-running tasks.
  seconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  bytes: [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824, 4294967296],
  ratio: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1],
  other: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
};

/** Settings of a {@link PrometheusSink}. */
export interface PrometheusSinkOptions {
  /** The registry served on /metrics. */
  registry: Registry;
  logger?: SinkLogger;
  /** Name prefix; default "windsock_". */
  prefix?: string;
  /** Buckets for a histogram by its Prometheus name; return undefined for the defaults by unit. */
  buckets?: (prometheusName: string) => number[] | undefined;
  name?: string;
}

interface Family {
  kind: MetricKind;
  unit: Unit;
  factor: number;
  /** dimension name -> label name, in the family's label order */
  labels: Map<string, string>;
  metric: Counter<string> | Gauge<string> | Histogram<string>;
}

/** Exposes datums as Prometheus metrics in a prom-client Registry. */
export class PrometheusSink implements MetricSink {
  readonly name: string;
  private readonly registry: Registry;
  private readonly prefix: string;
  private readonly families = new Map<string, Family>();
  private readonly names = new Map<string, string>();
  private readonly drops: DropTracker;
  private written = 0;
  private closed = false;

  constructor(private readonly options: PrometheusSinkOptions) {
    this.name = options.name ?? 'prometheus';
    this.registry = options.registry;
    this.prefix = options.prefix ?? 'windsock_';
    this.drops = new DropTracker(this.name, options.logger ?? silentLogger, options.registry);
  }

  write(datums: readonly MetricDatum[]): void {
    if (this.closed) {
      this.drops.drop('closed', datums.length, 'written after close()');
      return;
    }
    for (const d of datums) {
      const problem = datumProblem(d) ?? this.apply(d);
      if (problem) this.drops.drop(problem.startsWith('conflict: ') ? 'conflict' : 'invalid', 1, problem);
      else this.written++;
    }
  }

  private promName(d: MetricDatum): string {
    const k = `${d.kind}\u0000${d.unit}\u0000${d.name}`;
    let n = this.names.get(k);
    if (n === undefined) {
      n = prometheusName(d.name, d.kind, d.unit, this.prefix);
      this.names.set(k, n);
    }
    return n;
  }

  private family(name: string, d: MetricDatum): Family | string {
    const existing = this.families.get(name);
    const dimNames = Object.keys(d.dimensions).sort();
    if (existing) {
      if (existing.kind !== d.kind || existing.unit !== d.unit) {
        return `conflict: ${name} exists as a ${existing.kind} in ${existing.unit}; got a ${d.kind} in ${d.unit}`;
      }
      if (existing.labels.size !== dimNames.length || dimNames.some((n) => !existing.labels.has(n))) {
        return `conflict: ${name} has dimensions [${[...existing.labels.keys()].join(', ')}]; got [${dimNames.join(', ')}]`;
      }
      return existing;
    }
    const labels = new Map(dimNames.map((n) => [n, labelName(n)]));
    const labelNames = [...labels.values()];
    if (new Set(labelNames).size !== labelNames.length) {
      return `${name}: dimensions [${dimNames.join(', ')}] collide as Prometheus labels [${labelNames.join(', ')}]`;
    }
    if (d.kind === 'distribution' && labelNames.includes('le')) return `${name}: a histogram cannot have an "le" label`;
    if (this.registry.getSingleMetric(name)) return `conflict: ${name} is already registered by someone else`;
    const { suffix, factor } = prometheusUnit(d.unit);
    const help = `${d.name} (${d.unit}${factor !== 1 ? `, converted to ${suffix}` : ''})`;
    const common = { name, help, labelNames, registers: [this.registry] };
    const metric =
      d.kind === 'counter'
        ? new Counter(common)
        : d.kind === 'gauge'
          ? new Gauge(common)
          : new Histogram({
              ...common,
              buckets: this.options.buckets?.(name) ?? DEFAULT_BUCKETS[suffix || 'other'] ?? DEFAULT_BUCKETS.other,
            });
    const fam: Family = { kind: d.kind, unit: d.unit, factor, labels, metric };
    this.families.set(name, fam);
    return fam;
  }

  private apply(d: MetricDatum): string | undefined {
    const fam = this.family(this.promName(d), d);
    if (typeof fam === 'string') return fam;
    const labels: Record<string, string> = {};
    for (const [dim, label] of fam.labels) labels[label] = d.dimensions[dim] as string;
    if (fam.kind === 'counter') (fam.metric as Counter<string>).inc(labels, (d.value as number) * fam.factor);
    else if (fam.kind === 'gauge') (fam.metric as Gauge<string>).set(labels, (d.value as number) * fam.factor);
    else {
      const h = fam.metric as Histogram<string>;
      if (d.statistics) {
        const mean = (d.statistics.sum / d.statistics.sampleCount) * fam.factor;
        for (let i = 0; i < d.statistics.sampleCount; i++) h.observe(labels, mean);
      } else h.observe(labels, (d.value as number) * fam.factor);
    }
    return undefined;
  }

  async flush(): Promise<FlushReport> {
    const report = emptyReport(this.name);
    report.sent = this.written;
    this.written = 0;
    report.dropped = this.drops.report();
    return report;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }
}
