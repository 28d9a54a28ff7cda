/**
 * CloudWatchSink: aggregates datums per series and minute, and on each flush sends them with
 * PutMetricData in as few requests as AWS's limits allow, retrying throttling, 5xx and transport
 * failures itself, and holding a bounded buffer while CloudWatch cannot be reached.
 *
 * Retries: the sink makes its own client with maxAttempts 1 and runs the only retry loop, so one
 * attempt is one HTTP request and the request counter is exact. A client passed in should be made
 * with maxAttempts: 1 too (a warning is logged once otherwise).
 *
 * Delivery is at least once: a request that reached CloudWatch but whose answer was lost (a
 * timeout or a reset after sending) is sent again, and its datums count twice.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { Counter, Gauge, Registry } from 'prom-client';
import { Aggregator } from '../aggregate.ts';
import { emptyReport, type FlushReport, type MetricDatum, type MetricSink } from '../datum.ts';
import { DropTracker, getOrCreate } from '../drops.ts';
import { type SinkLogger, silentLogger } from '../logger.ts';
import { cloudWatchSafe, datumProblem } from '../validate.ts';
import {
  type Batch,
  datumBytes,
  MAX_DATUMS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  planBatches,
  type WireProtocol,
  wireProtocol,
} from './batch.ts';
import { type PendingDatum, toCloudWatchData } from './convert.ts';
import { backoffMs, classify, describeError, type RequestOutcome, retryable } from './retry.ts';

/** Settings of a {@link CloudWatchSink}. */
export interface CloudWatchSinkOptions {
  /** A client to use (made with maxAttempts: 1); by default one is made from region/endpoint and the environment. */
  client?: CloudWatchClient;
  region?: string;
  endpoint?: string;
  logger?: SinkLogger;
  /** Where the sink's own metrics go (requests, drops, buffer size); the process's /metrics registry. */
  registry?: Registry;
  /** Most PutMetricData datums held while CloudWatch is unreachable; the oldest beyond it are dropped. Default 20000. */
  maxBufferedDatums?: number;
  /** Retries after the first attempt of a request. Default 4. */
  maxRetries?: number;
  /** First backoff ceiling; doubles per retry, with full jitter. Default 200 ms. */
  retryBaseMs?: number;
  /** Largest backoff ceiling. Default 10 s. */
  retryCapMs?: number;
  /** One attempt's time limit (socket idle and overall). Default 10 s. */
  requestTimeoutMs?: number;
  /** How long close() may spend sending what is pending; the rest is dropped and counted. Default 10 s. */
  closeTimeoutMs?: number;
  /** Lower than AWS's 1000 only for tests. */
  maxDatumsPerRequest?: number;
  /** Lower than 1,000,000 only for tests. */
  maxRequestBytes?: number;
  /** Namespace of the sink's own MetricsDropped metric; default: the namespace of what was dropped. */
  selfNamespace?: string;
  /** Sink name in logs and labels. Default "cloudwatch". */
  name?: string;
}

// PutMetricData accepts timestamps up to two weeks old and two hours ahead; one outside would
// make CloudWatch reject the whole request it travels in.
const MAX_AGE_MS = 14 * 24 * 3600_000 - 3600_000;
const MAX_AHEAD_MS = 2 * 3600_000 - 300_000;

function timestampProblem(d: MetricDatum, now: number): string | undefined {
  if (d.timestamp < now - MAX_AGE_MS || d.timestamp > now + MAX_AHEAD_MS) {
    return `${d.name}: timestamp ${new Date(d.timestamp).toISOString()} is outside what CloudWatch accepts (two weeks back to two hours ahead)`;
  }
  return undefined;
}

/** The CloudWatch-side count of dropped datums, published so an alarm can see data loss. */
export const METRICS_DROPPED = 'MetricsDropped';

/** Sends datums to CloudWatch with PutMetricData; see the module comment for the guarantees. */
export class CloudWatchSink implements MetricSink {
  readonly name: string;
  private readonly client: CloudWatchClient;
  private readonly ownsClient: boolean;
  private readonly protocol: WireProtocol;
  private readonly logger: SinkLogger;
  private readonly aggregator = new Aggregator(60_000);
  private buffer: PendingDatum[] = [];
  private readonly drops: DropTracker;
  /** Drops not yet published as MetricsDropped, per namespace. */
  private readonly unreportedDrops = new Map<string, number>();
  private readonly requests: Counter<'outcome'>;
  private readonly buffered: Gauge<'sink'>;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private checkedClient = false;
  private readonly o: Required<
    Pick<
      CloudWatchSinkOptions,
      | 'maxBufferedDatums'
      | 'maxRetries'
      | 'retryBaseMs'
      | 'retryCapMs'
      | 'requestTimeoutMs'
      | 'closeTimeoutMs'
      | 'maxDatumsPerRequest'
      | 'maxRequestBytes'
    >
  >;

  constructor(private readonly options: CloudWatchSinkOptions = {}) {
    this.name = options.name ?? 'cloudwatch';
    this.logger = options.logger ?? silentLogger;
    this.o = {
      maxBufferedDatums: options.maxBufferedDatums ?? 20_000,
      maxRetries: options.maxRetries ?? 4,
      retryBaseMs: options.retryBaseMs ?? 200,
      retryCapMs: options.retryCapMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      closeTimeoutMs: options.closeTimeoutMs ?? 10_000,
      maxDatumsPerRequest: Math.min(options.maxDatumsPerRequest ?? MAX_DATUMS_PER_REQUEST, MAX_DATUMS_PER_REQUEST),
      maxRequestBytes: Math.min(options.maxRequestBytes ?? MAX_REQUEST_BYTES, MAX_REQUEST_BYTES),
    };
    if (!(this.o.maxBufferedDatums >= 1)) throw new Error('CloudWatchSink: maxBufferedDatums must be at least 1');
    this.ownsClient = !options.client;
    this.client =
      options.client ??
      new CloudWatchClient({
        region: options.region,
        endpoint: options.endpoint,
        maxAttempts: 1,
        // Without throwOnRequestTimeout, @smithy/node-http-handler 4.x only warns and keeps waiting.
        requestHandler: {
          requestTimeout: this.o.requestTimeoutMs,
          connectionTimeout: this.o.requestTimeoutMs,
          throwOnRequestTimeout: true,
        },
      });
    this.protocol = wireProtocol(this.client);
    const registry = options.registry ?? new Registry();
    this.drops = new DropTracker(this.name, this.logger, registry);
    this.requests = getOrCreate(
      registry,
      'windsock_cloudwatch_requests_total',
      () =>
        new Counter({
          name: 'windsock_cloudwatch_requests_total',
          help: 'CloudWatch PutMetricData requests made (each retry counts), by outcome',
          labelNames: ['outcome'],
          registers: [registry],
        }),
    );
    this.buffered = getOrCreate(
      registry,
      'windsock_metrics_buffered_datums',
      () =>
        new Gauge({
          name: 'windsock_metrics_buffered_datums',
          help: 'Datums a sink holds for a later flush (e.g. while CloudWatch is unreachable)',
          labelNames: ['sink'],
          registers: [registry],
        }),
    );
  }

  /** Datums waiting to be sent (aggregated series of the current interval not included). */
  get pendingDatums(): number {
    return this.buffer.length;
  }

  write(datums: readonly MetricDatum[]): void {
    if (this.closed) {
      this.drops.drop('closed', datums.length, 'written after close()');
      return;
    }
    const now = Date.now();
    for (const d of datums) {
      const invalid = datumProblem(d) ?? timestampProblem(d, now);
      const safe = invalid ?? cloudWatchSafe(d);
      if (typeof safe === 'string') {
        this.drops.drop('invalid', 1, safe);
        continue;
      }
      const conflict = this.aggregator.add(safe);
      if (conflict) {
        this.drops.drop('conflict', 1, conflict);
        this.noteUnreported(d.namespace, 1);
      }
    }
  }

  flush(): Promise<FlushReport> {
    return this.serialized(() => this.sendPending(Number.POSITIVE_INFINITY));
  }

  async close(): Promise<void> {
    if (this.closed) return this.chain.then(() => undefined);
    this.closed = true;
    await this.serialized(async () => {
      const report = await this.sendPending(Date.now() + this.o.closeTimeoutMs);
      if (this.buffer.length > 0) {
        this.drops.drop(
          'shutdown',
          this.buffer.length,
          `CloudWatch not reachable within ${this.o.closeTimeoutMs} ms of close()`,
        );
        this.buffer = [];
        this.drops.report();
      }
      this.buffered.set({ sink: this.name }, 0);
      return report;
    });
    if (this.ownsClient) this.client.destroy();
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async sendPending(deadline: number): Promise<FlushReport> {
    const report = emptyReport(this.name);
    await this.checkClientRetries();
    for (const agg of this.aggregator.drain()) {
      for (const datum of toCloudWatchData(agg)) {
        this.buffer.push({ namespace: agg.namespace, datum, bytes: datumBytes(datum, this.protocol) });
      }
    }
    const excess = this.buffer.length - this.o.maxBufferedDatums;
    if (excess > 0) {
      for (const p of this.buffer.splice(0, excess)) this.noteUnreported(p.namespace, 1);
      this.drops.drop(
        'buffer_full',
        excess,
        `the buffer holds at most ${this.o.maxBufferedDatums} datums (maxBufferedDatums) and CloudWatch has not taken them`,
      );
    }

    const selfItems = this.dropReportItems();
    const batches = planBatches(
      [...selfItems, ...this.buffer],
      this.protocol,
      this.o.maxDatumsPerRequest,
      this.o.maxRequestBytes,
    );
    const done = new Set<PendingDatum>();
    for (const batch of batches) {
      const result = await this.send(batch, deadline, report);
      if (result === 'unreachable') break;
      for (const item of batch.items) done.add(item);
      const own = batch.items.filter((i) => !selfItems.includes(i)).length;
      const selfSent = batch.items.filter((i) => selfItems.includes(i));
      if (result === 'sent') {
        report.sent += own;
        for (const s of selfSent) this.noteUnreported(s.namespace, -(s.datum.Value as number));
      } else {
        this.drops.drop('rejected', own, `CloudWatch rejected the request: ${result.rejected}`);
        this.noteUnreported(batch.namespace, own);
        for (const s of selfSent) this.unreportedDrops.delete(s.namespace);
      }
    }
    if (done.size > 0) this.buffer = this.buffer.filter((p) => !done.has(p));
    report.pending = this.buffer.length;
    report.dropped = this.drops.report();
    this.buffered.set({ sink: this.name }, this.buffer.length);
    return report;
  }

  private noteUnreported(namespace: string, n: number): void {
    const ns = this.options.selfNamespace ?? namespace;
    const left = (this.unreportedDrops.get(ns) ?? 0) + n;
    if (left > 0) this.unreportedDrops.set(ns, left);
    else this.unreportedDrops.delete(ns);
  }

  /** MetricsDropped datums for drops not yet published, sent ahead of the buffer. */
  private dropReportItems(): PendingDatum[] {
    const items: PendingDatum[] = [];
    for (const [namespace, count] of this.unreportedDrops) {
      const datum = {
        MetricName: METRICS_DROPPED,
        Dimensions: [{ Name: 'Sink', Value: this.name }],
        Timestamp: new Date(),
        Unit: 'Count' as const,
        Value: count,
      };
      items.push({ namespace, datum, bytes: datumBytes(datum, this.protocol) });
    }
    return items;
  }

  /** Sends one request with retries. */
  private async send(
    batch: Batch,
    deadline: number,
    report: FlushReport,
  ): Promise<'sent' | 'unreachable' | { rejected: string }> {
    const input = { Namespace: batch.namespace, MetricData: batch.items.map((i) => i.datum) };
    for (let attempt = 0; ; attempt++) {
      let outcome: RequestOutcome;
      let error: unknown;
      const timeLeft = deadline - Date.now();
      if (timeLeft <= 0) {
        report.errors.push(`gave up: deadline passed before sending ${batch.items.length} datums`);
        return 'unreachable';
      }
      try {
        report.requests++;
        // Our own limit too, so a client passed in without timeouts cannot hang a flush.
        const abortSignal = AbortSignal.timeout(Math.min(this.o.requestTimeoutMs, timeLeft));
        await this.client.send(new PutMetricDataCommand(input), { abortSignal });
        outcome = 'success';
      } catch (err) {
        error = err;
        outcome = classify(err);
      }
      this.requests.inc({ outcome });
      if (outcome === 'success') return 'sent';
      const why = describeError(error);
      if (!retryable(outcome)) {
        report.errors.push(why);
        return { rejected: why };
      }
      const wait = backoffMs(attempt, this.o.retryBaseMs, this.o.retryCapMs);
      if (attempt >= this.o.maxRetries || Date.now() + wait >= deadline) {
        report.errors.push(why);
        this.logger.warn(
          { sink: this.name, outcome, attempts: attempt + 1, pending: this.buffer.length },
          `CloudWatch PutMetricData failed after ${attempt + 1} attempts (${why}); ${this.buffer.length} datums kept for the next flush`,
        );
        return 'unreachable';
      }
      report.retries++;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async checkClientRetries(): Promise<void> {
    if (this.checkedClient || this.ownsClient) return;
    this.checkedClient = true;
    try {
      const attempts = await (this.client.config.maxAttempts as () => Promise<number>)();
      if (attempts > 1) {
        this.logger.warn(
          { sink: this.name, maxAttempts: attempts },
          `the CloudWatch client passed in retries by itself (maxAttempts ${attempts}); make it with maxAttempts: 1 so the sink's retry loop and request counts are the only ones`,
        );
      }
    } catch {
      // a config without a readable maxAttempts: nothing to check
    }
  }
}
