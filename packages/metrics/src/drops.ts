/**
 * Every datum a sink gives up is counted (windsock_metrics_dropped_total{sink,reason}) and logged
 * with its exact count: an on-call engineer must be able to tell "no data" from "data lost".
 */
import { Counter, Registry } from 'prom-client';
import type { SinkLogger } from './logger.ts';

/** Why a datum was given up. */
export type DropReason = 'buffer_full' | 'rejected' | 'invalid' | 'conflict' | 'unsupported' | 'closed' | 'shutdown';

/** Gets the metric named `name` from `registry`, or creates it (several sinks share one registry). */
export function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** Counts and logs a sink's dropped datums; one log line per reason per flush. */
export class DropTracker {
  private readonly counter: Counter<'sink' | 'reason'>;
  private pendingLog = new Map<DropReason, { count: number; detail: string }>();
  /** Dropped since the tracker was made, per reason. */
  readonly totals = new Map<DropReason, number>();

  constructor(
    private readonly sink: string,
    private readonly logger: SinkLogger,
    registry: Registry = new Registry(),
  ) {
    this.counter = getOrCreate(
      registry,
      'windsock_metrics_dropped_total',
      () =>
        new Counter({
          name: 'windsock_metrics_dropped_total',
          help: 'Metric datums a sink gave up (buffer full, rejected, invalid, ...), by sink and reason',
          labelNames: ['sink', 'reason'],
          registers: [registry],
        }),
    );
  }

  /** Records `count` dropped datums; `detail` says why, in words, for the log line. */
  drop(reason: DropReason, count: number, detail: string): void {
    if (count <= 0) return;
    this.counter.inc({ sink: this.sink, reason }, count);
    this.totals.set(reason, (this.totals.get(reason) ?? 0) + count);
    const p = this.pendingLog.get(reason);
    if (p) {
      p.count += count;
      p.detail = detail;
    } else this.pendingLog.set(reason, { count, detail });
  }

  /** Total dropped so far, all reasons. */
  get total(): number {
    let n = 0;
    for (const v of this.totals.values()) n += v;
    return n;
  }

  /** Logs what was dropped since the last call (one line per reason); returns the count. */
  report(): number {
    let n = 0;
    for (const [reason, { count, detail }] of this.pendingLog) {
      n += count;
      this.logger.error(
        { sink: this.sink, reason, dropped: count },
        `metrics sink ${this.sink} dropped ${count} datum${count === 1 ? '' : 's'} (${reason}): ${detail}`,
      );
    }
    this.pendingLog = new Map();
    return n;
  }
}
