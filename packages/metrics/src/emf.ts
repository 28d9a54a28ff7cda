/**
 * EmfSink: CloudWatch Embedded Metric Format, one JSON document per line, to stdout or a file,
 * for a CloudWatch agent, Fluent Bit or the awslogs driver to carry to CloudWatch Logs (which
 * extracts the metrics, so no PutMetricData calls are made).
 *
 * Each flush writes one document per (namespace, dimension set), split further to stay within the
 * specification's limits: at most 100 metrics per directive, at most 100 values per metric, and
 * at most 30 dimensions per set (guaranteed by validation).
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Registry } from 'prom-client';
import { Aggregator, type SeriesAggregate } from './aggregate.ts';
import { emptyReport, type FlushReport, type MetricDatum, type MetricSink, sortedDimensions } from './datum.ts';
import { DropTracker } from './drops.ts';
import { type SinkLogger, silentLogger } from './logger.ts';
import { cloudWatchSafe, datumProblem } from './validate.ts';

/** At most this many MetricDefinitions in one directive (EMF specification). */
export const EMF_MAX_METRICS = 100;
/** At most this many values in one metric's array (EMF specification). */
export const EMF_MAX_VALUES = 100;

/** Settings of an {@link EmfSink}. */
export interface EmfSinkOptions {
  /** Where lines go; default process.stdout (ignored when `path` is set). */
  stream?: Writable;
  /** A file to append lines to (opened by the sink, closed by close()). */
  path?: string;
  logger?: SinkLogger;
  registry?: Registry;
  name?: string;
}

/** One EMF document. */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
  [member: string]: unknown;
}

interface Entry {
  name: string;
  unit: string;
  /** One number (counter, gauge) or the value chunks of a distribution. */
  chunks: (number | number[])[];
  timestamp: number;
}

function distributionChunks(agg: SeriesAggregate): number[][] {
  const chunks: number[][] = [];
  let chunk: number[] = [];
  for (const [v, n] of agg.observations ?? []) {
    for (let i = 0; i < n; i++) {
      chunk.push(v);
      if (chunk.length === EMF_MAX_VALUES) {
        chunks.push(chunk);
        chunk = [];
      }
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Builds the documents for one (namespace, dimension set) group; `entries` have distinct names. */
export function buildEmfDocuments(
  namespace: string,
  dimensions: Readonly<Record<string, string>>,
  entries: readonly Entry[],
): EmfDocument[] {
  const dims = sortedDimensions(dimensions);
  const docs: EmfDocument[] = [];
  // Round r carries chunk r of every metric that has one; a round holds at most 100 metrics per document.
  for (let round = 0; ; round++) {
    const inRound = entries.filter((e) => e.chunks.length > round);
    if (inRound.length === 0) break;
    for (let i = 0; i < inRound.length; i += EMF_MAX_METRICS) {
      const part = inRound.slice(i, i + EMF_MAX_METRICS);
      const doc: EmfDocument = {
        _aws: {
          Timestamp: Math.round(Math.max(...part.map((e) => e.timestamp))),
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [dims.map(([k]) => k)],
              Metrics: part.map((e) => ({ Name: e.name, Unit: e.unit })),
            },
          ],
        },
      };
      for (const [k, v] of dims) doc[k] = v;
      for (const e of part) doc[e.name] = e.chunks[round];
      docs.push(doc);
    }
  }
  return docs;
}

/** Writes datums as CloudWatch Embedded Metric Format lines on each flush. */
export class EmfSink implements MetricSink {
  readonly name: string;
  private readonly aggregator = new Aggregator();
  private readonly drops: DropTracker;
  private readonly stream: Writable;
  private readonly ownsStream: boolean;
  private closed = false;

  constructor(options: EmfSinkOptions = {}) {
    this.name = options.name ?? 'emf';
    this.drops = new DropTracker(this.name, options.logger ?? silentLogger, options.registry);
    this.ownsStream = options.path !== undefined;
    this.stream =
      options.path !== undefined ? createWriteStream(options.path, { flags: 'a' }) : (options.stream ?? process.stdout);
  }

  write(datums: readonly MetricDatum[]): void {
    if (this.closed) {
      this.drops.drop('closed', datums.length, 'written after close()');
      return;
    }
    for (const d of datums) {
      // CloudWatch extracts EMF metrics with the same dimension rules as PutMetricData.
      const safe = datumProblem(d) ?? cloudWatchSafe(d);
      if (typeof safe === 'string') this.drops.drop('invalid', 1, safe);
      else if (safe.statistics) {
        this.drops.drop('unsupported', 1, `${d.name}: EMF has no statistic sets; write single observations`);
      } else {
        const conflict = this.aggregator.add(safe);
        if (conflict) this.drops.drop('conflict', 1, conflict);
      }
    }
  }

  /** The documents the next flush would write, and starts a new interval. */
  takeDocuments(): EmfDocument[] {
    const groups = new Map<
      string,
      { namespace: string; dimensions: Readonly<Record<string, string>>; entries: Entry[] }
    >();
    for (const agg of this.aggregator.drain()) {
      const gkey = `${agg.namespace}\u0000${JSON.stringify(sortedDimensions(agg.dimensions))}`;
      let g = groups.get(gkey);
      if (!g) {
        g = { namespace: agg.namespace, dimensions: agg.dimensions, entries: [] };
        groups.set(gkey, g);
      }
      // A metric is a member of the document's root, so it cannot share a name with a dimension,
      // with _aws, or with another unit of itself.
      if (agg.name === '_aws' || agg.name in agg.dimensions || g.entries.some((e) => e.name === agg.name)) {
        this.drops.drop(
          'conflict',
          1,
          `${agg.name} collides with a dimension or another unit of the same name in one EMF document`,
        );
        continue;
      }
      if (agg.overflow) {
        this.drops.drop(
          'unsupported',
          agg.overflow.sampleCount,
          `${agg.name}: more distinct values in one interval than EMF output keeps; flush more often`,
        );
      }
      const chunks = agg.kind === 'distribution' ? distributionChunks(agg) : [agg.value];
      if (chunks.length > 0) g.entries.push({ name: agg.name, unit: agg.unit, chunks, timestamp: agg.timestamp });
    }
    const docs: EmfDocument[] = [];
    for (const g of groups.values()) docs.push(...buildEmfDocuments(g.namespace, g.dimensions, g.entries));
    return docs;
  }

  async flush(): Promise<FlushReport> {
    const report = emptyReport(this.name);
    const docs = this.takeDocuments();
    if (docs.length > 0) {
      let text = '';
      for (const doc of docs) {
        text += `${JSON.stringify(doc)}\n`;
        report.sent += doc._aws.CloudWatchMetrics[0]?.Metrics.length ?? 0;
      }
      try {
        await new Promise<void>((resolve, reject) => this.stream.write(text, (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        this.drops.drop('rejected', report.sent, `writing EMF lines failed: ${(err as Error).message}`);
        report.errors.push((err as Error).message);
        report.sent = 0;
      }
    }
    report.dropped = this.drops.report();
    return report;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.ownsStream) await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}
