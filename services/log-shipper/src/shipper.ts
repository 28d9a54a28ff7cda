import { setMaxListeners } from 'node:events';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@windsock/core';
import type { SourceSpec } from './discovery.ts';
import { FileTracker } from './file-tracker.ts';
import type { FinishSignal } from './finish.ts';
import { FinishDetector } from './finish-detector.ts';
import { ShipJournal, type ShipRecord } from './journal.ts';
import type { ShipperMetrics } from './metrics.ts';
import { type ObjectOptions, ObjectWriter } from './object-writer.ts';
import { Reconciler } from './reconciler.ts';
import { Retention } from './retention.ts';
import { failureClass, type RetryPolicy } from './retry.ts';
import type { TrackedFile } from './tracked.ts';
import { type UploadedEvent, Uploader } from './uploader.ts';

export type { UploadedEvent } from './uploader.ts';

/** Everything a {@link LogShipper} needs; times in ms. */
export interface LogShipperOptions {
  s3: S3Client;
  logger: Logger;
  metrics: ShipperMetrics;
  /** Airflow's base_log_folder (task logs live below it). */
  baseLogFolder: string;
  /** Airflow's remote_base_log_folder (s3://bucket/prefix). */
  remoteBaseLogFolder: string;
  /** Task-log globs (relative to the base folder) to ship and to skip. */
  taskLogInclude: string[];
  taskLogExclude: string[];
  /** Rotated process logs: each with its own key prefix. */
  processLogs: { directory: string; include: string[]; remotePrefix: string }[];
  /** Directory of the journal. */
  stateDir: string;
  /** Names this host in keys of its own (sibling keys, process logs). */
  shipperId: string;
  object: ObjectOptions;
  retry: RetryPolicy;
  multipartThresholdBytes: number;
  partSizeBytes: number;
  /** Parts of one multipart upload in flight at once (default 4). */
  partsInFlight?: number;
  /** Part buffers held in memory across all multipart uploads (default 64 MiB). */
  multipartMemoryBytes?: number;
  maxConcurrentUploads: number;
  /** Minimum time between two uploads of one growing file. */
  liveIntervalMs: number;
  /** How often files not yet finished are stat'ed. */
  activePollMs: number;
  /** Full scan of every source (the safety net behind native watching). */
  scanIntervalMs: number;
  /** Use native file watching (inotify) besides the scans. */
  watch: boolean;
  /** A file unchanged this long counts as finished. */
  finishQuietMs: number;
  endMarkers: RegExp[];
  finishSignal?: FinishSignal;
  /** How often open task logs are checked with the finish signal (default 1000). */
  finishCheckIntervalMs?: number;
  /** At most this many logs per check (default 512). */
  finishCheckBatch?: number;
  /** Whether Airflow's own S3 upload also runs on the workers (see README: coexisting with Airflow). */
  airflowUploads: 'off' | 'on' | 'auto';
  /** After a final upload, how long to watch the key for Airflow's append (when airflowUploads is on). */
  airflowWatchMs: number;
  airflowWatchIntervalMs: number;
  /** Delete local files after their final version is confirmed, `retainMs` later. */
  deleteAfterShipped: boolean;
  retainMs: number;
  /** Below this free fraction of the log filesystem, confirmed final files are deleted at once. */
  diskPressureFreeRatio: number;
  fsyncJournal: boolean;
  /** Called after each confirmed upload (benches and tests measure lag with it). */
  onUploaded?: (e: UploadedEvent) => void;
  /** Called just before a local file is deleted, once its final version is confirmed. */
  onDeleting?: (path: string, rec: ShipRecord) => void;
  now?: () => number;
}

/**
 * Ships Airflow task logs (and rotated process logs) to S3 at the keys Airflow's S3 remote logging
 * reads, live while tasks run and finally when they end; records each confirmation in a journal.
 * It wires its parts and runs the loop that asks each file what it needs next:
 * - {@link FileTracker}: finds and stats the files, keeps what is known of each;
 * - {@link FinishDetector}: end markers, the quiet period, the metadb finish signal;
 * - {@link Uploader}: the upload queue, conditional writes, the journal's confirmations;
 * - {@link Reconciler}: keys written by someone else (Airflow's own upload among them);
 * - {@link Retention}: deleting local files whose final version is confirmed.
 */
export class LogShipper {
  private readonly o: LogShipperOptions;
  private readonly now: () => number;
  readonly journal: ShipJournal;
  private readonly tracker: FileTracker;
  private readonly finish: FinishDetector;
  private readonly reconciler: Reconciler;
  private readonly uploader: Uploader;
  private readonly retention: Retention;
  private timer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private stopped = false;
  private readonly idleWaiters: (() => void)[] = [];
  private backlogPublishedAt = 0;

  constructor(options: LogShipperOptions) {
    this.o = options;
    const now = options.now ?? Date.now;
    this.now = now;
    // Every request in flight listens on the one stop signal.
    setMaxListeners(0, this.abort.signal);
    const writer = new ObjectWriter({
      s3: options.s3,
      object: options.object,
      retry: options.retry,
      multipartThresholdBytes: options.multipartThresholdBytes,
      partSizeBytes: options.partSizeBytes,
      ...(options.partsInFlight ? { partsInFlight: options.partsInFlight } : {}),
      ...(options.multipartMemoryBytes ? { multipartMemoryBytes: options.multipartMemoryBytes } : {}),
      onRetry: (_reason, err) => options.metrics.retried(failureClass(err)),
    });
    this.journal = new ShipJournal(`${options.stateDir}/log-shipper.journal`, { fsync: options.fsyncJournal });
    this.finish = new FinishDetector({
      logger: options.logger,
      endMarkers: options.endMarkers,
      finishQuietMs: options.finishQuietMs,
      ...(options.finishSignal ? { finishSignal: options.finishSignal } : {}),
      ...(options.finishCheckIntervalMs !== undefined ? { finishCheckIntervalMs: options.finishCheckIntervalMs } : {}),
      ...(options.finishCheckBatch !== undefined ? { finishCheckBatch: options.finishCheckBatch } : {}),
      now,
    });
    this.reconciler = new Reconciler({
      writer,
      logger: options.logger,
      metrics: options.metrics,
      shipperId: options.shipperId,
      airflowUploads: options.airflowUploads,
      airflowWatchMs: options.airflowWatchMs,
      airflowWatchIntervalMs: options.airflowWatchIntervalMs,
      signal: this.abort.signal,
      now,
    });
    this.uploader = new Uploader({
      writer,
      reconciler: this.reconciler,
      journal: this.journal,
      logger: options.logger,
      metrics: options.metrics,
      maxConcurrentUploads: options.maxConcurrentUploads,
      ...(options.onUploaded ? { onUploaded: options.onUploaded } : {}),
      onSettled: (f) => {
        this.consider(f);
        this.wakeIdle();
      },
      signal: this.abort.signal,
      now,
    });
    this.tracker = new FileTracker({
      sources: sourcesOf(options),
      logger: options.logger,
      journal: this.journal,
      finish: this.finish,
      shipperId: options.shipperId,
      onChange: (f) => this.consider(f),
      onVanished: () => this.wakeIdle(),
      now,
    });
    this.retention = new Retention({
      logger: options.logger,
      metrics: options.metrics,
      journal: this.journal,
      baseLogFolder: options.baseLogFolder,
      deleteAfterShipped: options.deleteAfterShipped,
      retainMs: options.retainMs,
      diskPressureFreeRatio: options.diskPressureFreeRatio,
      ...(options.onDeleting ? { onDeleting: options.onDeleting } : {}),
      onDeleted: (f) => this.tracker.vanished(f),
      isStopped: () => this.stopped,
      now,
    });
  }

  /** Loads the journal and starts watching, scanning and shipping. */
  async start(): Promise<void> {
    const report = await this.journal.open();
    if (report.dropped > 0) this.o.logger.warn({ dropped: report.dropped }, 'journal: dropped torn or corrupt records');
    this.o.logger.info({ records: report.records, journal: this.journal.file }, 'journal loaded');
    await this.scan();
    this.tracker.forgetMissing();
    if (this.o.watch) await this.tracker.watch();
    this.timer = setInterval(() => this.tick(), Math.min(250, this.o.activePollMs));
    this.scanTimer = setInterval(() => void this.scan(), this.o.scanIntervalMs);
    this.retention.checkDisk();
  }

  /**
   * `--once`: ship every file present as it is now, wait until each is confirmed (or has failed
   * `maxFailures` times) and report; true only when everything is confirmed.
   */
  async runOnce(maxFailures = 5): Promise<{ confirmed: number; failed: string[] }> {
    this.uploader.maxFailures = maxFailures;
    const report = await this.journal.open();
    if (report.dropped > 0) this.o.logger.warn({ dropped: report.dropped }, 'journal: dropped torn or corrupt records');
    this.timer = setInterval(() => this.tick(), 100);
    await this.scan();
    this.tracker.forgetMissing();
    this.uploader.shipWhole = true;
    for (const f of this.tracker.files.values()) this.consider(f);
    await this.idle();
    await this.stop();
    const failed = [...this.uploader.gaveUp];
    return { confirmed: this.tracker.files.size - failed.length, failed };
  }

  /** Stops watching, waits for uploads in flight (bounded by the caller) and closes the journal. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.scanTimer);
    await this.tracker.close();
    const deadline = this.now() + 10_000;
    while (this.uploader.inFlight > 0 && this.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.abort.abort();
    this.publishBacklog();
    this.journal.close();
  }

  /** Resolves when nothing is queued, in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Numbers for /status and the backlog gauge. */
  status(): {
    files: number;
    backlogFiles: number;
    backlogBytes: number;
    inFlight: number;
    airflowUploadsSeen: boolean;
  } {
    let backlogFiles = 0;
    let backlogBytes = 0;
    for (const f of this.tracker.files.values()) {
      const done = f.confirmed?.size ?? 0;
      if (!f.gone && (f.size > done || (f.finished && !f.confirmed?.final))) {
        backlogFiles++;
        backlogBytes += Math.max(0, f.size - done);
      }
    }
    return {
      files: this.tracker.files.size,
      backlogFiles,
      backlogBytes,
      inFlight: this.uploader.inFlight,
      airflowUploadsSeen: this.reconciler.airflowUploadsSeen,
    };
  }

  /** Full scan of every source; new and changed files are picked up, vanished ones dropped. */
  async scan(): Promise<void> {
    await this.tracker.scan();
    this.publishBacklog();
  }

  /** Decides whether the file needs an upload (now or later), an Airflow watch, or a retention step. */
  private consider(f: TrackedFile): void {
    if (f.gone || f.moved || this.stopped) return;
    const target = this.uploader.targetSize(f);
    const done = f.confirmed?.size ?? -1;
    const now = this.now();
    if (target > done || (f.finished && target === f.size && !f.confirmed?.final)) {
      if (this.uploader.gaveUp.has(f.path)) return;
      const due = f.finished || this.uploader.shipWhole ? now : Math.max(now, f.lastUploadAt + this.o.liveIntervalMs);
      this.uploader.enqueue(f, Math.max(due, f.dueAt > now ? f.dueAt : 0), f.finished);
      return;
    }
    if (f.confirmed?.final && f.source.kind === 'task' && f.watchUntil > now && now >= f.nextWatchAt) {
      f.nextWatchAt = now + this.o.airflowWatchIntervalMs;
      this.uploader.enqueue(f, now, false);
      return;
    }
    // Only task logs: a quiet process log may still be open by its writer, and deleting it would lose what comes next.
    if (f.confirmed?.final && f.watchUntil <= now && f.source.kind === 'task') void this.retention.maybeDelete(f);
  }

  private tick(): void {
    const now = this.now();
    for (const f of this.tracker.files.values()) {
      if (f.gone || f.inFlight || f.moved) continue;
      const settled = f.confirmed?.final === true && f.confirmed.size === f.size && f.watchUntil <= now;
      // A queued file is not polled: its upload reads it anyway, and polling is resumed once it is done.
      // (In a backlog of N queued files, polling them cost N stats a second for nothing.)
      if (f.dirty || (!settled && !f.queued && now - f.lastStatAt >= this.o.activePollMs)) {
        f.lastStatAt = now;
        void this.tracker.observe(f.path, f.source);
      } else if (!f.queued && f.dueAt > 0 && f.dueAt <= now) {
        this.consider(f);
      } else if (f.watchUntil > now && now >= f.nextWatchAt) {
        this.consider(f);
      }
    }
    this.finish.checkSignals(this.tracker.files.values());
    if (now - this.backlogPublishedAt >= 1000) this.publishBacklog();
    this.wakeIdle();
  }

  /** Sets the backlog gauges (every second and at stop, so each metrics flush sends a fresh value). */
  private publishBacklog(): void {
    this.backlogPublishedAt = this.now();
    const s = this.status();
    this.o.metrics.backlog(s.backlogFiles, s.backlogBytes);
  }

  private isIdle(): boolean {
    if (!this.uploader.drained || this.tracker.isScanning) return false;
    const now = this.now();
    for (const f of this.tracker.files.values()) {
      if (f.gone || this.uploader.gaveUp.has(f.path)) continue;
      if (f.queued || f.inFlight || f.dirty) return false;
      if (f.watchUntil > now) return false;
      const target = this.uploader.targetSize(f);
      if (target > (f.confirmed?.size ?? -1)) return false;
      if (f.finished && !f.confirmed?.final) return false;
    }
    return true;
  }

  private wakeIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

/** The task-log source (the base log folder) and one source per process-log folder. */
function sourcesOf(o: LogShipperOptions): SourceSpec[] {
  return [
    {
      kind: 'task',
      directory: o.baseLogFolder,
      include: o.taskLogInclude,
      exclude: o.taskLogExclude,
      remote: o.remoteBaseLogFolder,
    },
    ...o.processLogs.map(
      (p): SourceSpec => ({
        kind: 'process',
        directory: p.directory,
        include: p.include,
        exclude: [],
        remote: p.remotePrefix,
      }),
    ),
  ];
}
