/**
 * The long-running log-metrics service: poll the inputs, flush the counters to the sinks once per
 * interval, and advance the checkpoint only after the sinks have taken the flush.
 *
 * The flush protocol (see README "Checkpoint guarantee"):
 *   1. cut: counts since the last cut + the file offsets they cover (synchronous, one tick);
 *   2. write the datums to the sinks and write+fsync the matching checkpoint to a temp file;
 *   3. flush the sinks; when none of them still holds datums (CloudWatch confirmed them all),
 *      rename the temp file over the checkpoint (atomic) — otherwise keep the previous checkpoint.
 */

import { setImmediate as nextTick } from 'node:timers/promises';
import type { Logger, Service } from '@windsock/core';
import { errorMessage, PeriodicJob } from '@windsock/core';
import type { FlushReport, Metrics } from '@windsock/metrics';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CheckpointStore } from './checkpoint.ts';
import type { LogPipeline } from './pipeline.ts';
import { toDatums } from './publish.ts';

/** Options of {@link LogMetricsService}. */
export interface LogMetricsServiceOptions {
  pipeline: LogPipeline;
  metrics: Metrics;
  store: CheckpointStore | undefined;
  /** A checkpoint was loaded (a restart): no starting checkpoint is written. */
  resumed: boolean;
  logger: Logger;
  registry?: Registry;
  flushIntervalMs: number;
  pollIntervalMs: number;
  /** Read from stdin as well (ends the stream's counting at EOF; the service keeps running). */
  stdin?: AsyncIterable<Buffer | string> | undefined;
  /**
   * The runtime's shutdown grace (shutdownGraceSeconds): on stop, reading goes on for at most 40% of
   * it, then the open records are counted, flushed and checkpointed (what was not read yet is read
   * after the restart, from the checkpoint). Default 25 s.
   */
  shutdownGraceMs?: number;
}

/** What `/status` shows. */
export interface LogMetricsStatus {
  files: ReturnType<LogPipeline['stats']>;
  flushes: number;
  lastFlushAt: string | null;
  lastCheckpointAt: string | null;
  checkpointHeldBack: number;
  /** Since when the checkpoint cannot be written (null: it can). */
  checkpointFailingSince: string | null;
  /** Paths that cannot be read now, with the error code. */
  pathProblems: Record<string, string>;
}

/** Follows the logs and publishes counters; a {@link Service} for `runServices`. */
export class LogMetricsService implements Service {
  readonly name = 'log-metrics';
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;
  private readonly flushJob: PeriodicJob;
  private flushes = 0;
  private lastFlushAt: number | undefined;
  private lastCheckpointAt: number | undefined;
  private heldBack = 0;
  private stdinDone: Promise<void> | undefined;
  /** Set while checkpoints cannot be written (one warning per outage). */
  private checkpointFailingSince: number | undefined;
  private checkpointFailures = 0;
  private checkpointOutages = 0;
  private lastPollError: string | undefined;

  constructor(private readonly opts: LogMetricsServiceOptions) {
    this.flushJob = new PeriodicJob({
      name: 'log-metrics-flush',
      intervalMs: opts.flushIntervalMs,
      runImmediately: false,
      logger: opts.logger,
      registry: opts.registry,
      run: async () => {
        await this.flush();
      },
    });
    if (opts.registry) this.selfMetrics(opts.registry);
  }

  async start(): Promise<void> {
    const { pipeline, store } = this.opts;
    if (store && !this.opts.resumed) {
      // First start: place every present file (at its end, or start, as configured) and checkpoint
      // those offsets before anything is read, so a crash before the first flush resumes from them
      // instead of taking the files for new ones.
      pipeline.prime();
      this.saveCheckpoint(() => store.save(pipeline.snapshot().checkpoint));
    }
    this.schedulePoll(0);
    pipeline.startContainers();
    this.flushJob.start();
    if (this.opts.stdin) {
      this.stdinDone = pipeline.drainStream(this.opts.stdin).catch((err) => {
        this.opts.logger.error({ err: errorMessage(err) }, 'reading stdin failed');
      });
    }
  }

  async stop(): Promise<void> {
    const readUntil = performance.now() + 0.4 * (this.opts.shutdownGraceMs ?? 25_000);
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await this.flushJob.stop();
    // Read what is there (new files included) while the grace period allows, yielding between
    // polls; then count the open records, flush, checkpoint. What is left unread is read after the
    // restart: the checkpoint holds the offsets actually read.
    const tailer = this.opts.pipeline.tailer;
    let rescan = true;
    while (tailer && performance.now() < readUntil) {
      let backlog: boolean;
      try {
        backlog = tailer.poll(Date.now(), rescan, false, Math.max(1, Math.min(200, readUntil - performance.now())));
      } catch (err) {
        this.opts.logger.error({ err: errorMessage(err) }, 'reading log files on shutdown failed');
        break;
      }
      rescan = false;
      if (!backlog) break;
      await nextTick();
    }
    if (tailer && performance.now() >= readUntil) {
      this.opts.logger.info(
        'shutdown: stopped reading to flush within the grace period; the rest is read after the restart',
      );
    }
    await this.opts.pipeline.stopContainers();
    this.opts.pipeline.finishAll();
    await this.flush();
    await this.opts.metrics.close();
    this.opts.pipeline.close();
  }

  /** Stop polling and flushing at once, with no final flush or checkpoint: what a crash leaves behind. */
  async halt(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await this.flushJob.stop();
    await this.opts.pipeline.stopContainers();
    this.opts.pipeline.close();
  }

  status(): LogMetricsStatus {
    return {
      files: this.opts.pipeline.stats(),
      flushes: this.flushes,
      lastFlushAt: this.lastFlushAt ? new Date(this.lastFlushAt).toISOString() : null,
      lastCheckpointAt: this.lastCheckpointAt ? new Date(this.lastCheckpointAt).toISOString() : null,
      checkpointHeldBack: this.heldBack,
      checkpointFailingSince:
        this.checkpointFailingSince === undefined ? null : new Date(this.checkpointFailingSince).toISOString(),
      pathProblems: this.opts.pipeline.tailer?.problems.active() ?? {},
    };
  }

  /** One flush: cut, publish, and checkpoint once the sinks hold nothing back. */
  async flush(): Promise<FlushReport[]> {
    const { pipeline, metrics, store, logger } = this.opts;
    const cut = pipeline.snapshot();
    metrics.write(toDatums(cut.series, metrics));
    // A checkpoint that cannot be written never stops the counts from being published.
    const prepared = store ? this.saveCheckpoint(() => store.prepare(cut.checkpoint)) : false;
    if (logger.isLevelEnabled('debug')) {
      const totals: Record<string, number> = {};
      for (const s of cut.series) totals[s.name] = (totals[s.name] ?? 0) + s.value;
      logger.debug({ flush: this.flushes + 1, totals }, 'flush: publishing');
    }
    const reports = await metrics.flush();
    this.flushes++;
    this.lastFlushAt = Date.now();
    // The JSON snapshot sink holds everything until close by design; every other sink must have
    // let go of every datum (CloudWatch confirmed them) before the offsets may move.
    const holding = reports.filter((r) => r.sink !== 'json' && r.pending > 0);
    if (!prepared) {
      // Nothing to commit: the outage was reported when prepare failed.
    } else if (holding.length === 0) {
      if (this.saveCheckpoint(() => store!.commit())) {
        this.lastCheckpointAt = Date.now();
        logger.debug({ flush: this.flushes }, 'flush: checkpointed');
      }
    } else {
      store?.abandon();
      this.heldBack++;
      logger.warn(
        { sinks: holding.map((r) => `${r.sink}:${r.pending}`) },
        'sinks still hold datums: checkpoint not advanced (lines since the last checkpoint would be re-read after a crash)',
      );
    }
    for (const r of reports) {
      if (r.errors.length > 0) logger.warn({ sink: r.sink, errors: r.errors.slice(0, 3) }, 'metrics flush had errors');
    }
    return reports;
  }

  /**
   * Run a checkpoint write; on failure say so once per outage (a warning and the
   * windsock_log_metrics_checkpoint_failing gauge), never throw. The next flush retries (the
   * state directory is created again if it was deleted).
   */
  private saveCheckpoint(write: () => void): boolean {
    const { logger, store } = this.opts;
    try {
      write();
    } catch (err) {
      this.checkpointFailures++;
      store?.abandon();
      if (this.checkpointFailingSince === undefined) {
        this.checkpointFailingSince = Date.now();
        this.checkpointOutages++;
        logger.warn(
          { checkpoint: store?.path, err: errorMessage(err) },
          'cannot write the checkpoint: counts are still published; the checkpoint is retried at every flush (after a crash meanwhile, lines since the last written checkpoint would be counted again)',
        );
      }
      return false;
    }
    if (this.checkpointFailingSince !== undefined) {
      logger.info(
        { checkpoint: store?.path, failedSeconds: Math.round((Date.now() - this.checkpointFailingSince) / 1000) },
        'checkpoint written again',
      );
      this.checkpointFailingSince = undefined;
    }
    return true;
  }

  /** Resolves when stdin (if read) has been counted to its end. */
  stdinFinished(): Promise<void> {
    return this.stdinDone ?? Promise.resolve();
  }

  private schedulePoll(delayMs: number): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => this.pollOnce(), delayMs);
  }

  private pollOnce(): void {
    if (this.polling || this.stopped) return;
    this.polling = true;
    let backlog = false;
    try {
      backlog = this.opts.pipeline.poll();
      this.lastPollError = undefined;
    } catch (err) {
      // Once per distinct error, not every poll.
      const msg = errorMessage(err);
      if (msg !== this.lastPollError) this.opts.logger.error({ err: msg }, 'polling log files failed; retrying');
      this.lastPollError = msg;
    } finally {
      this.polling = false;
    }
    this.schedulePoll(backlog ? 0 : this.opts.pollIntervalMs);
  }

  private selfMetrics(registry: Registry): void {
    const stats = () => this.opts.pipeline.stats();
    const gauge = (name: string, help: string, pick: (s: ReturnType<typeof stats>) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(pick(stats()));
        },
      });
    gauge('windsock_log_metrics_files_followed', 'Log files followed now.', (s) => s.trackedFiles);
    gauge('windsock_log_metrics_files_open', 'Log files with an open descriptor.', (s) => s.openFiles);
    gauge('windsock_log_metrics_lines_read', 'Lines read since start (cumulative).', (s) => s.linesRead);
    gauge('windsock_log_metrics_bytes_read', 'Bytes read since start (cumulative).', (s) => s.bytesRead);
    gauge(
      'windsock_log_metrics_truncated_lines',
      'Lines longer than maxLineBytes (cut; cumulative).',
      (s) => s.truncatedLines,
    );
    gauge(
      'windsock_log_metrics_dropped_bytes',
      'Bytes of over-long lines dropped (cumulative).',
      (s) => s.droppedBytes,
    );
    gauge('windsock_log_metrics_rotations', 'Files renamed away or deleted while followed.', (s) => s.rotations);
    gauge('windsock_log_metrics_truncations', 'Files truncated while followed.', (s) => s.truncations);
    const self = this;
    new Gauge({
      name: 'windsock_log_metrics_checkpoint_failing',
      help: '1 while the checkpoint cannot be written (counts are still published).',
      registers: [registry],
      collect() {
        this.set(self.checkpointFailingSince === undefined ? 0 : 1);
      },
    });
    new Counter({
      name: 'windsock_log_metrics_checkpoint_outages_total',
      help: 'Times the checkpoint became unwritable (one per outage).',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(self.checkpointOutages);
      },
    });
    new Counter({
      name: 'windsock_log_metrics_checkpoint_failures_total',
      help: 'Checkpoint writes that failed (one per flush during an outage).',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(self.checkpointFailures);
      },
    });
    new Gauge({
      name: 'windsock_log_metrics_path_problems',
      help: 'Input paths that cannot be read now (each logged once).',
      registers: [registry],
      collect() {
        this.set(Object.keys(self.opts.pipeline.tailer?.problems.active() ?? {}).length);
      },
    });
  }
}
