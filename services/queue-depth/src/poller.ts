import { NotAnAirflowMetadbError } from '@windsock/airflow';
import { errorMessage, type Logger } from '@windsock/core';
import type { BrokerReader, BrokerReading } from './broker-reader.ts';
import type { QueueDepthConfig, WorkerPoolConfig } from './config.ts';
import { pollGauges, type QueueDepthGauge, queuesIn } from './gauges.ts';
import type { MetadbReader, MetadbReading } from './metadb-reader.ts';
import { OutageLog, type OutageStatus } from './outage.ts';

/** One poll's result: the gauges to publish and the raw readings behind them. */
export interface QueueDepthSnapshot {
  at: Date;
  gauges: QueueDepthGauge[];
  metadb?: MetadbReading;
  broker?: BrokerReading;
  durationMs: number;
}

/** Options of {@link QueueDepthPoller}. */
export interface QueueDepthPollerOptions {
  metadb: MetadbReader;
  /** Absent when no broker URL is configured: then no broker metrics at all. */
  broker?: BrokerReader;
  config: Pick<QueueDepthConfig, 'queues' | 'maxQueues'> & { workerPools: readonly WorkerPoolConfig[] };
  logger: Logger;
  /** The instant ages are measured at (tests and the simulator pass a virtual clock). */
  clock?: () => Date;
}

/**
 * Reads the metadb and then the broker, and turns what answered into gauges. A dependency that
 * fails gives its up = 0 gauge and no numbers; the outage is logged once when it starts and once
 * when it ends. Queues seen in the metadb are remembered (up to `maxQueues`) so they keep reading 0
 * when they go idle instead of disappearing.
 */
export class QueueDepthPoller {
  private readonly fixedQueues: string[];
  private readonly seenQueues = new Set<string>();
  private warnedQueueCap = false;
  private readonly clock: () => Date;
  readonly metadbOutage: OutageLog;
  readonly brokerOutage?: OutageLog;
  private last?: QueueDepthSnapshot;

  constructor(private readonly opts: QueueDepthPollerOptions) {
    this.clock = opts.clock ?? (() => new Date());
    const fixed = new Set(opts.config.queues);
    for (const p of opts.config.workerPools) for (const q of p.queues) fixed.add(q);
    this.fixedQueues = [...fixed];
    this.metadbOutage = new OutageLog('metadb', 'MetadbUp', opts.logger);
    if (opts.broker) this.brokerOutage = new OutageLog('broker', 'BrokerUp', opts.logger);
  }

  /** Poll once: never throws (a failure is an up = 0 gauge). */
  async poll(): Promise<QueueDepthSnapshot> {
    const started = performance.now();
    const at = this.clock();
    let metadb: MetadbReading | undefined;
    try {
      metadb = await this.opts.metadb.read(this.clock);
      this.metadbOutage.up();
      this.remember(queuesIn(metadb));
    } catch (err) {
      this.metadbOutage.down(metadbErrorMessage(err), isSchemaMismatch(err) ? 'schema mismatch' : 'unreachable');
      this.opts.metadb.forgetVersion();
    }

    let broker: BrokerReading | undefined;
    if (this.opts.broker) {
      try {
        broker = await this.opts.broker.read(this.queues());
        this.brokerOutage?.up();
      } catch (err) {
        this.brokerOutage?.down(errorMessage(err));
      }
    }

    const gauges = pollGauges({
      metadb,
      broker,
      ...(this.opts.broker ? { brokerUp: broker !== undefined } : {}),
      queues: this.queues(),
      workerPools: this.opts.config.workerPools,
    });
    this.last = { at, gauges, metadb, broker, durationMs: performance.now() - started };
    return this.last;
  }

  /** Check that the metadb answers without reading anything (what a follower does each interval). */
  async probeMetadb(): Promise<boolean> {
    try {
      await this.opts.metadb.ping();
      this.metadbOutage.up();
      return true;
    } catch (err) {
      this.metadbOutage.down(errorMessage(err));
      return false;
    }
  }

  /** The queues that always get a value: configured, worker pools', and seen in the metadb. */
  queues(): string[] {
    return [...new Set([...this.fixedQueues, ...this.seenQueues])];
  }

  /** The last snapshot (for /status). */
  lastSnapshot(): QueueDepthSnapshot | undefined {
    return this.last;
  }

  /** State for /status. */
  status(): { metadb: OutageStatus; broker?: OutageStatus; queues: string[]; lastPollMs?: number } {
    return {
      metadb: this.metadbOutage.status(),
      ...(this.brokerOutage ? { broker: this.brokerOutage.status() } : {}),
      queues: this.queues(),
      ...(this.last ? { lastPollMs: Math.round(this.last.durationMs * 10) / 10 } : {}),
    };
  }

  private remember(queues: string[]): void {
    for (const q of queues) {
      if (this.seenQueues.has(q) || this.fixedQueues.includes(q)) continue;
      if (this.seenQueues.size + this.fixedQueues.length >= this.opts.config.maxQueues) {
        if (!this.warnedQueueCap) {
          this.warnedQueueCap = true;
          this.opts.logger.warn(
            { maxQueues: this.opts.config.maxQueues, queue: q },
            'more queues than queueDepth.maxQueues: further queues are published while active but not remembered for zeros',
          );
        }
        continue;
      }
      this.seenQueues.add(q);
    }
  }
}

/**
 * Whether a metadb error says the database answered but its schema is not the one expected: no
 * Airflow task_instance table, or (with airflow.version pinned) a table or column of the other
 * major version (PostgreSQL's undefined_table 42P01, undefined_column 42703).
 */
export function isSchemaMismatch(err: unknown): boolean {
  if (err instanceof NotAnAirflowMetadbError) return true;
  const code = (err as { code?: unknown }).code;
  return code === '42P01' || code === '42703';
}

function metadbErrorMessage(err: unknown): string {
  const msg = errorMessage(err);
  const code = (err as { code?: unknown }).code;
  if (code === '42P01' || code === '42703') {
    return `${msg}: the metadb's tables are not those of the Airflow version expected; check airflow.version (WINDSOCK_AIRFLOW__VERSION) or set it to auto`;
  }
  return msg;
}
