/**
 * The facade a service uses: named handles that validate once, at the point of adding, and write
 * each value through to every sink; `flush()` fans out to all sinks.
 *
 * @example
 * const metrics = new Metrics({ namespace: 'Windsock', sinks, defaultDimensions: { Cluster: 'prod' } });
 * metrics.counter('TasksFailed', { Queue: 'default' }).add();
 * metrics.gauge('QueueDepth', { Queue: 'default' }, 'Count').set(12);
 * metrics.observe('PollDuration', {}, 'Seconds', 0.042);
 * await metrics.flush();
 */
import type { FlushReport, MetricDatum, MetricKind, MetricSink, Unit } from './datum.ts';
import { emptyReport, seriesKey } from './datum.ts';
import { type SinkLogger, silentLogger } from './logger.ts';
import {
  validateDatum,
  validateDimensions,
  validateMetricName,
  validateNamespace,
  validateUnit,
  validateValue,
} from './validate.ts';

/** Settings of a {@link Metrics} facade. */
export interface MetricsOptions {
  /** CloudWatch namespace of every metric made here. */
  namespace: string;
  sinks: readonly MetricSink[];
  /** Added to every metric's dimensions (a metric's own dimensions win on a clash). */
  defaultDimensions?: Record<string, string>;
  logger?: SinkLogger;
  /** Clock (epoch ms); tests pass their own. */
  now?: () => number;
}

/** A counter series: `add(n)` records an increment (default 1). */
export interface CounterHandle {
  add(n?: number): void;
}
/** A gauge series: `set(v)` records the current level. */
export interface GaugeHandle {
  set(value: number): void;
}
/** A distribution series: `observe(v)` records one observation. */
export interface DistributionHandle {
  observe(value: number): void;
}

/** Handles cached per series before the cache is cleared (bounds memory under label churn). */
const MAX_CACHED_HANDLES = 10_000;

/** Records metrics and hands them to its sinks. */
export class Metrics {
  readonly namespace: string;
  private readonly sinks: readonly MetricSink[];
  private readonly defaults: Record<string, string>;
  private readonly logger: SinkLogger;
  private readonly now: () => number;
  private readonly handles = new Map<string, CounterHandle | GaugeHandle | DistributionHandle>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<FlushReport[]> | undefined;
  private closed = false;
  private warnedClosed = false;

  constructor(options: MetricsOptions) {
    validateNamespace(options.namespace);
    this.namespace = options.namespace;
    this.sinks = options.sinks;
    this.defaults = { ...(options.defaultDimensions ?? {}) };
    validateDimensions('default dimensions', this.defaults);
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  /** A counter series (unit default Count). Throws MetricValidationError on a bad name or dimensions. */
  counter(name: string, dimensions: Record<string, string> = {}, unit: Unit = 'Count'): CounterHandle {
    return this.handle('counter', name, dimensions, unit, (emit) => ({ add: (n = 1) => emit(n) })) as CounterHandle;
  }

  /** A gauge series (unit default None). */
  gauge(name: string, dimensions: Record<string, string> = {}, unit: Unit = 'None'): GaugeHandle {
    return this.handle('gauge', name, dimensions, unit, (emit) => ({ set: (v: number) => emit(v) })) as GaugeHandle;
  }

  /** A distribution series (unit default None). */
  distribution(name: string, dimensions: Record<string, string> = {}, unit: Unit = 'None'): DistributionHandle {
    return this.handle('distribution', name, dimensions, unit, (emit) => ({
      observe: (v: number) => emit(v),
    })) as DistributionHandle;
  }

  /** Records one observation of a distribution. */
  observe(name: string, dimensions: Record<string, string>, unit: Unit, value: number): void {
    this.distribution(name, dimensions, unit).observe(value);
  }

  /** Passes datums made elsewhere to every sink, after validating each (throws on the first bad one). */
  write(datums: readonly MetricDatum[]): void {
    for (const d of datums) validateDatum(d);
    for (const sink of this.sinks) sink.write(datums);
  }

  private handle<H>(
    kind: MetricKind,
    name: string,
    dimensions: Record<string, string>,
    unit: Unit,
    make: (emit: (v: number) => void) => H,
  ): H {
    const merged = { ...this.defaults, ...dimensions };
    const key = `${kind}\u0000${seriesKey({ namespace: this.namespace, name, unit, dimensions: merged })}`;
    const cached = this.handles.get(key);
    if (cached) return cached as H;
    validateMetricName(name);
    validateUnit(unit);
    validateDimensions(name, merged);
    const frozen = Object.freeze(merged);
    const namespace = this.namespace;
    const h = make((value: number) => {
      validateValue(name, kind, value);
      if (this.closed) {
        if (!this.warnedClosed)
          this.logger.warn({ metric: name }, `metric ${name} recorded after Metrics.close(); ignored`);
        this.warnedClosed = true;
        return;
      }
      const d: MetricDatum = { namespace, name, unit, kind, dimensions: frozen, value, timestamp: this.now() };
      const batch = [d];
      for (const sink of this.sinks) sink.write(batch);
    });
    if (this.handles.size >= MAX_CACHED_HANDLES) this.handles.clear();
    this.handles.set(key, h as CounterHandle);
    return h;
  }

  /**
   * Flushes every sink at once; one failing sink does not stop the others (its report carries
   * the error). Calls made while a flush runs wait for it and share its result.
   */
  flush(): Promise<FlushReport[]> {
    if (this.flushing) return this.flushing;
    this.flushing = Promise.all(
      this.sinks.map(async (sink) => {
        try {
          return await sink.flush();
        } catch (err) {
          const report = emptyReport(sink.name);
          report.errors.push((err as Error).message);
          this.logger.error(
            { sink: sink.name, err: (err as Error).message },
            `metrics sink ${sink.name} failed to flush`,
          );
          return report;
        }
      }),
    ).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Flushes every `intervalMs` until close(); a slow flush delays the next one rather than overlapping it. */
  startAutoFlush(intervalMs: number): void {
    if (!(intervalMs > 0))
      throw new Error(`flush interval must be a positive number of milliseconds, got ${intervalMs}`);
    this.stopAutoFlush();
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.flush().finally(() => {
          if (this.timer) tick();
        });
      }, intervalMs);
      this.timer.unref();
    };
    tick();
  }

  /** Stops the periodic flush. */
  stopAutoFlush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops the periodic flush and closes every sink (each sends what it holds). */
  async close(): Promise<void> {
    this.stopAutoFlush();
    this.closed = true;
    if (this.flushing) await this.flushing;
    await Promise.all(
      this.sinks.map((s) =>
        s.close().catch((err: Error) => {
          this.logger.error({ sink: s.name, err: err.message }, `metrics sink ${s.name} failed to close`);
        }),
      ),
    );
  }
}
