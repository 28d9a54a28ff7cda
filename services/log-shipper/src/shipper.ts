import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { type Stats, statfsSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { hasTaskEndMarker, s3LogLocation } from '@windsock/airflow';
import type { Logger } from '@windsock/core';
import { FileDiscovery, type SourceSpec } from './discovery.ts';
import type { FinishSignal } from './finish.ts';
import { ShipJournal, type ShipRecord } from './journal.ts';
import type { ShipperMetrics } from './metrics.ts';
import {
  IntegrityError,
  isObjectGone,
  isPrecondition,
  type ObjectOptions,
  ObjectWriter,
  prefixDigest,
  readRange,
  type WriteCondition,
} from './object-writer.ts';
import { relateRemote } from './reconcile.ts';
import { siblingKey } from './remote-key.ts';
import { backoffMs, failureClass, failureReason, type RetryPolicy } from './retry.ts';

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

/** One confirmed upload. */
export interface UploadedEvent {
  path: string;
  bucket: string;
  key: string;
  size: number;
  final: boolean;
  confirmedAt: number;
  lagMs: number | undefined;
}

interface Tracked {
  id: string;
  path: string;
  source: SourceSpec;
  bucket: string;
  key: string;
  /** The key Airflow reads for this file (siblings live under it). */
  baseKey: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** Wall time the current size was first seen. */
  changedAt: number;
  /** When the first byte not yet confirmed was (at the latest) written. */
  firstUnshippedAt: number | undefined;
  confirmed: ShipRecord | undefined;
  /** Bytes [0, scannedTo) have been scanned for end markers and line ends. */
  scannedTo: number;
  /** Offset just past the last newline seen. */
  lineEnd: number;
  markerSeen: boolean;
  finished: boolean;
  inFlight: boolean;
  queued: boolean;
  again: boolean;
  dueAt: number;
  failures: number;
  lastUploadAt: number;
  siblingN: number;
  watchUntil: number;
  nextWatchAt: number;
  dirty: boolean;
  lastStatAt: number;
  gone: boolean;
  /** A process log renamed away from `path` and not yet found under its new name. */
  moved: boolean;
  movedAt: number;
}

const MARKER_TAIL_BYTES = 64 * 1024;

/**
 * Ships Airflow task logs (and rotated process logs) to S3 at the keys Airflow's S3 remote logging
 * reads, live while tasks run and finally when they end; records each confirmation in a journal.
 */
export class LogShipper {
  private readonly o: LogShipperOptions;
  private readonly now: () => number;
  private readonly writer: ObjectWriter;
  readonly journal: ShipJournal;
  private readonly files = new Map<string, Tracked>();
  private readonly byPath = new Map<string, Tracked>();
  private readonly urgent: Tracked[] = [];
  private readonly normal: Tracked[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private readonly discovery: FileDiscovery;
  private readonly abort = new AbortController();
  private stopped = false;
  private airflowSeen: boolean;
  private diskPressure = false;
  private scanning: Promise<void> | undefined;
  private readonly idleWaiters: (() => void)[] = [];
  /** In `--once` mode every file is shipped whole and counted as failed after this many failures. */
  private onceMaxFailures = 0;
  /** `--once`: ship each file whole (not only complete lines) even when it is not finished. */
  private shipWhole = false;
  private readonly gaveUp = new Set<string>();

  constructor(options: LogShipperOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.airflowSeen = options.airflowUploads === 'on';
    // Every request in flight listens on the one stop signal.
    setMaxListeners(0, this.abort.signal);
    this.writer = new ObjectWriter({
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
    const sources: SourceSpec[] = [
      {
        kind: 'task',
        directory: options.baseLogFolder,
        include: options.taskLogInclude,
        exclude: options.taskLogExclude,
        remote: options.remoteBaseLogFolder,
      },
      ...options.processLogs.map(
        (p): SourceSpec => ({
          kind: 'process',
          directory: p.directory,
          include: p.include,
          exclude: [],
          remote: p.remotePrefix,
        }),
      ),
    ];
    this.discovery = new FileDiscovery(sources, options.logger, (path, source) => this.noticed(path, source));
  }

  /** Loads the journal and starts watching, scanning and shipping. */
  async start(): Promise<void> {
    const report = await this.journal.open();
    if (report.dropped > 0) this.o.logger.warn({ dropped: report.dropped }, 'journal: dropped torn or corrupt records');
    this.o.logger.info({ records: report.records, journal: this.journal.file }, 'journal loaded');
    await this.scan();
    this.forgetMissing();
    if (this.o.watch) await this.discovery.watch();
    this.timer = setInterval(() => this.tick(), Math.min(250, this.o.activePollMs));
    this.scanTimer = setInterval(() => void this.scan(), this.o.scanIntervalMs);
    this.checkDisk();
  }

  /**
   * `--once`: ship every file present as it is now, wait until each is confirmed (or has failed
   * `maxFailures` times) and report; true only when everything is confirmed.
   */
  async runOnce(maxFailures = 5): Promise<{ confirmed: number; failed: string[] }> {
    this.onceMaxFailures = maxFailures;
    const report = await this.journal.open();
    if (report.dropped > 0) this.o.logger.warn({ dropped: report.dropped }, 'journal: dropped torn or corrupt records');
    this.timer = setInterval(() => this.tick(), 100);
    await this.scan();
    this.forgetMissing();
    this.shipWhole = true;
    for (const f of this.files.values()) this.consider(f);
    await this.idle();
    await this.stop();
    const failed = [...this.gaveUp];
    return { confirmed: this.files.size - failed.length, failed };
  }

  /** Stops watching, waits for uploads in flight (bounded by the caller) and closes the journal. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.scanTimer);
    await this.discovery.close();
    const deadline = this.now() + 10_000;
    while (this.inFlight > 0 && this.now() < deadline) await new Promise((r) => setTimeout(r, 20));
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
    for (const f of this.files.values()) {
      const done = f.confirmed?.size ?? 0;
      if (!f.gone && (f.size > done || (f.finished && !f.confirmed?.final))) {
        backlogFiles++;
        backlogBytes += Math.max(0, f.size - done);
      }
    }
    return {
      files: this.files.size,
      backlogFiles,
      backlogBytes,
      inFlight: this.inFlight,
      airflowUploadsSeen: this.airflowSeen,
    };
  }

  /** Full scan of every source; new and changed files are picked up, vanished ones dropped. */
  scan(): Promise<void> {
    if (this.scanning) return this.scanning;
    this.scanning = (async () => {
      try {
        const scanStartedAt = this.now();
        const seen = await this.discovery.scan();
        for (const f of this.files.values()) {
          // A rotated-away file that a whole scan did not find under any name was deleted (or no longer matches).
          if (f.moved && f.movedAt < scanStartedAt) this.vanished(f);
          else if (f.moved) continue;
          else if (!seen.has(f.path)) await this.observe(f.path, f.source);
        }
        this.publishBacklog();
      } catch (err) {
        this.o.logger.error({ err: String(err) }, 'scan failed; retrying at the next interval');
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  /** Journal records of files that no longer exist (deleted after their final upload) are dropped. */
  private forgetMissing(): void {
    for (const rec of [...this.journal.all()]) if (!this.files.has(rec.id)) this.journal.forget(rec.id);
  }

  private noticed(path: string, source: SourceSpec): Promise<void> {
    const f = this.byPath.get(path);
    if (f && !f.gone) {
      f.dirty = true;
      return Promise.resolve();
    }
    return this.observe(path, source);
  }

  /** Stats a file and updates what we know; schedules an upload when there is something to ship. */
  private async observe(path: string, source: SourceSpec): Promise<void> {
    if (this.observing.has(path)) {
      this.recheck.add(path);
      return;
    }
    this.observing.add(path);
    try {
      await this.observeOnce(path, source);
    } finally {
      this.observing.delete(path);
    }
    if (this.recheck.delete(path)) await this.observe(path, source);
  }

  private readonly observing = new Set<string>();
  private readonly recheck = new Set<string>();

  private async observeOnce(path: string, source: SourceSpec): Promise<void> {
    let st: Stats;
    try {
      st = await stat(path);
    } catch {
      const f = this.byPath.get(path);
      if (f) this.vanished(f);
      return;
    }
    if (!st.isFile()) return;
    let f = this.byPath.get(path);
    if (f && (f.ino !== st.ino || f.dev !== st.dev)) {
      if (source.kind === 'task') {
        // Same task-log path, new file: a new generation of the attempt's log.
        this.newGeneration(f, 'replaced');
        f.dev = st.dev;
        f.ino = st.ino;
      } else {
        // A rename rotation: the old file lives on under another name (the scan finds it by inode and
        // it keeps its key); the file now at this path is a new one.
        this.byPath.delete(path);
        f.moved = true;
        f.movedAt = this.now();
        f = undefined;
      }
    }
    if (!f || f.gone) f = await this.track(path, source, st);
    if (!f) return;
    f.lastStatAt = this.now();
    f.dirty = false;
    if (st.size !== f.size || st.mtimeMs !== f.mtimeMs) {
      if (st.size < (f.confirmed?.size ?? 0) || st.size < f.scannedTo) this.newGeneration(f, 'truncated');
      if (st.size > (f.confirmed?.size ?? 0) && f.firstUnshippedAt === undefined) {
        f.firstUnshippedAt = Math.min(st.mtimeMs, this.now());
      }
      f.size = st.size;
      f.mtimeMs = st.mtimeMs;
      f.changedAt = this.now();
      await this.scanTail(f);
      if (!f.markerSeen) f.finished = false;
    }
    if (!f.finished && this.now() - f.changedAt >= this.o.finishQuietMs) f.finished = true;
    this.consider(f);
  }

  private async track(path: string, source: SourceSpec, st: Stats): Promise<Tracked | undefined> {
    const rel = relative(source.directory, path).split(sep).join('/');
    const id = source.kind === 'task' ? `path:${path}` : `inode:${st.dev}:${st.ino}`;
    const existing = this.files.get(id);
    if (existing && source.kind === 'process') {
      // A rotated process log: same inode under a new name keeps its key.
      if (this.byPath.get(existing.path) === existing) this.byPath.delete(existing.path);
      existing.path = path;
      existing.gone = false;
      existing.moved = false;
      existing.dirty = true;
      this.byPath.set(path, existing);
      return existing;
    }
    let rec = this.journal.get(id);
    let bucket: string;
    let key: string;
    let baseKey: string;
    try {
      if (source.kind === 'task') {
        const k = s3LogLocation(source.remote, rel);
        bucket = k.bucket;
        baseKey = k.key;
        key = rec?.key ?? k.key;
      } else {
        const stamp = new Date(st.birthtimeMs || this.now())
          .toISOString()
          .replace(/[-:]/g, '')
          .replace(/\.\d+Z$/, 'Z');
        const k = s3LogLocation(source.remote, `${this.o.shipperId}/${rel}.${stamp}`);
        bucket = k.bucket;
        baseKey = rec?.key ?? k.key;
        key = baseKey;
      }
    } catch (err) {
      this.o.logger.error({ path, err: String(err) }, 'cannot map file to an S3 key; skipped');
      return undefined;
    }
    if (rec && (rec.ino !== st.ino || rec.dev !== st.dev || st.size < rec.size)) {
      if (!(await this.prefixMatches(path, rec))) rec = undefined;
    } else if (rec && !(rec.final && rec.size === st.size)) {
      // Resume: trust the record only if the file still starts with the confirmed bytes.
      if (!(await this.prefixMatches(path, rec))) rec = undefined;
    }
    const siblingN = rec && rec.key !== baseKey ? Number(/-(\d+)$/.exec(rec.key)?.[1] ?? 0) : 0;
    const f: Tracked = {
      id,
      path,
      source,
      bucket: rec?.bucket ?? bucket,
      key: rec ? rec.key : key,
      baseKey: source.kind === 'task' ? baseKey : key,
      dev: st.dev,
      ino: st.ino,
      size: -1,
      mtimeMs: -1,
      changedAt: this.now(),
      firstUnshippedAt: undefined,
      confirmed: rec,
      scannedTo: 0,
      lineEnd: 0,
      markerSeen: false,
      finished: false,
      inFlight: false,
      queued: false,
      again: false,
      dueAt: 0,
      failures: 0,
      lastUploadAt: 0,
      siblingN,
      watchUntil: 0,
      nextWatchAt: 0,
      dirty: false,
      lastStatAt: 0,
      gone: false,
      moved: false,
      movedAt: 0,
    };
    if (rec) {
      // Markers before the confirmed size were seen when it was shipped.
      f.scannedTo = Math.max(0, rec.size - MARKER_TAIL_BYTES);
      f.lineEnd = rec.size;
    }
    this.files.set(id, f);
    this.byPath.set(path, f);
    return f;
  }

  private async prefixMatches(path: string, rec: ShipRecord): Promise<boolean> {
    try {
      return (await prefixDigest(path, rec.size, rec.partSize)) === rec.sha256;
    } catch {
      return false;
    }
  }

  /** The file at this path now holds new content: keep the old object, ship the new one beside it. */
  private newGeneration(f: Tracked, why: string): void {
    this.o.logger.info({ path: f.path, why }, 'new generation of a log file');
    if (f.source.kind === 'process') {
      const stamp = new Date(this.now())
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      const rel = relative(f.source.directory, f.path).split(sep).join('/');
      f.key = s3LogLocation(f.source.remote, `${this.o.shipperId}/${rel}.${stamp}`).key;
      f.baseKey = f.key;
    } else {
      // The attempt key holds the old content; conditional writes send the new one to a sibling key.
      f.key = f.baseKey;
    }
    f.confirmed = undefined;
    f.scannedTo = 0;
    f.lineEnd = 0;
    f.markerSeen = false;
    f.finished = false;
    f.firstUnshippedAt = undefined;
    f.size = -1;
  }

  /** Reads bytes not yet scanned (at most the last 64 KiB of them) for end markers and line ends. */
  private async scanTail(f: Tracked): Promise<void> {
    if (f.size <= f.scannedTo) return;
    const from = Math.max(f.scannedTo, f.size - MARKER_TAIL_BYTES);
    let buf: Buffer;
    try {
      buf = await readRange(f.path, from, f.size - from, f);
    } catch {
      return;
    }
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) f.lineEnd = from + nl + 1;
    const complete = nl >= 0 ? buf.subarray(0, nl + 1).toString('utf8') : '';
    if (f.source.kind === 'task' && hasTaskEndMarker(complete, this.o.endMarkers)) {
      f.markerSeen = true;
      f.finished = true;
    } else if (complete !== '') {
      f.markerSeen = false;
    }
    f.scannedTo = nl >= 0 ? from + nl + 1 : f.scannedTo;
  }

  private vanished(f: Tracked): void {
    if (f.gone) return;
    f.gone = true;
    if (this.byPath.get(f.path) === f) this.byPath.delete(f.path);
    const shipped = f.confirmed?.size ?? 0;
    if (f.size > shipped)
      this.o.logger.warn(
        { path: f.path, unshippedBytes: f.size - shipped },
        'file vanished before it was fully shipped',
      );
    this.files.delete(f.id);
    this.journal.forget(f.id);
    this.wakeIdle();
  }

  /** Decides whether the file needs an upload (now or later) or a retention step. */
  private consider(f: Tracked): void {
    if (f.gone || f.moved || this.stopped) return;
    const target = this.targetSize(f);
    const done = f.confirmed?.size ?? -1;
    const now = this.now();
    if (target > done || (f.finished && target === f.size && !f.confirmed?.final)) {
      if (this.gaveUp.has(f.path)) return;
      const due = f.finished || this.shipWhole ? now : Math.max(now, f.lastUploadAt + this.o.liveIntervalMs);
      this.enqueue(f, Math.max(due, f.dueAt > now ? f.dueAt : 0), f.finished);
      return;
    }
    if (f.confirmed?.final && f.source.kind === 'task' && f.watchUntil > now && now >= f.nextWatchAt) {
      f.nextWatchAt = now + this.o.airflowWatchIntervalMs;
      this.enqueue(f, now, false);
      return;
    }
    // Only task logs: a quiet process log may still be open by its writer, and deleting it would lose what comes next.
    if (f.confirmed?.final && f.watchUntil <= now && f.source.kind === 'task') void this.maybeDelete(f);
  }

  /** Bytes to ship: the whole file when finished, else up to the last complete line. */
  private targetSize(f: Tracked): number {
    if (f.size < 0) return -1;
    if (f.finished || this.shipWhole) return f.size;
    // Only whole lines while a task runs: Airflow decodes each object as UTF-8, and a cut line would be shown twice.
    return Math.min(f.lineEnd, f.size);
  }

  private enqueue(f: Tracked, at: number, urgent: boolean): void {
    if (f.inFlight) {
      f.again = true;
      return;
    }
    f.dueAt = at;
    if (f.queued) return;
    if (at <= this.now()) {
      f.queued = true;
      (urgent ? this.urgent : this.normal).push(f);
      this.pump();
    }
  }

  private tick(): void {
    const now = this.now();
    for (const f of this.files.values()) {
      if (f.gone || f.inFlight || f.moved) continue;
      const settled = f.confirmed?.final === true && f.confirmed.size === f.size && f.watchUntil <= now;
      // A queued file is not polled: its upload reads it anyway, and polling is resumed once it is done.
      // (In a backlog of N queued files, polling them cost N stats a second for nothing.)
      if (f.dirty || (!settled && !f.queued && now - f.lastStatAt >= this.o.activePollMs)) {
        f.lastStatAt = now;
        void this.observe(f.path, f.source);
      } else if (!f.queued && f.dueAt > 0 && f.dueAt <= now) {
        this.consider(f);
      } else if (f.watchUntil > now && now >= f.nextWatchAt) {
        this.consider(f);
      }
    }
    this.checkFinishSignals();
    if (now - this.backlogPublishedAt >= 1000) this.publishBacklog();
    this.wakeIdle();
  }

  private backlogPublishedAt = 0;

  /** Sets the backlog gauges (every second and at stop, so each metrics flush sends a fresh value). */
  private publishBacklog(): void {
    this.backlogPublishedAt = this.now();
    const s = this.status();
    this.o.metrics.backlog(s.backlogFiles, s.backlogBytes);
  }

  private pump(): void {
    while (this.inFlight < this.o.maxConcurrentUploads) {
      const f = this.urgent.shift() ?? this.normal.shift();
      if (!f) return;
      f.queued = false;
      if (f.gone || f.inFlight) continue;
      f.inFlight = true;
      this.inFlight++;
      void this.ship(f).finally(() => {
        f.inFlight = false;
        this.inFlight--;
        if (f.again) {
          f.again = false;
          f.dirty = true;
        }
        this.consider(f);
        this.pump();
        this.wakeIdle();
      });
    }
  }

  private async ship(f: Tracked): Promise<void> {
    const now = this.now();
    const target = this.targetSize(f);
    const done = f.confirmed?.size ?? -1;
    try {
      if (target <= done) {
        if (f.finished && target === f.size && f.confirmed && !f.confirmed.final) {
          this.confirm(f, { ...f.confirmed, final: true, confirmedAt: now }, false);
        } else if (f.confirmed?.final && f.watchUntil > now) {
          await this.checkAirflowUpload(f);
        }
        return;
      }
      await this.upload(f, target);
      f.failures = 0;
      f.dueAt = 0;
    } catch (err) {
      f.failures++;
      const reason = failureReason(err);
      this.o.metrics.failed(failureClass(err));
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ESHRANK' || code === 'EMOVED') {
        f.dirty = true;
        return;
      }
      this.o.logger.warn(
        { path: f.path, key: f.key, reason, failures: f.failures, err: String(err) },
        'upload failed; will retry',
      );
      if (this.onceMaxFailures > 0 && f.failures >= this.onceMaxFailures) {
        this.gaveUp.add(f.path);
        return;
      }
      // Nothing is dropped: the file waits with a growing, jittered delay.
      f.dueAt =
        this.now() + Math.max(200, backoffMs({ attempts: 0, baseDelayMs: 500, maxDelayMs: 30_000 }, f.failures));
      if (err instanceof IntegrityError && err.etag && f.confirmed) f.confirmed = { ...f.confirmed, etag: err.etag };
    } finally {
      f.lastUploadAt = now;
    }
  }

  /** Writes `path[0, size)` to the file's key; on a conflict works out who wrote what and retries once. */
  private async upload(f: Tracked, size: number): Promise<void> {
    for (let round = 0; round < 25; round++) {
      const condition: WriteCondition = f.confirmed?.etag ? { ifMatch: f.confirmed.etag } : { ifNoneMatch: true };
      const final = f.finished && size === f.size;
      try {
        const res = await this.writer.write(f.bucket, f.key, f.path, size, condition, this.abort.signal, f);
        const confirmedAt = this.now();
        const lagMs = f.firstUnshippedAt !== undefined ? Math.max(0, confirmedAt - f.firstUnshippedAt) : undefined;
        const prev = f.confirmed?.size ?? 0;
        this.confirm(
          f,
          {
            id: f.id,
            path: f.path,
            bucket: f.bucket,
            key: f.key,
            dev: f.dev,
            ino: f.ino,
            size,
            sha256: res.sha256,
            ...(res.partSize ? { partSize: res.partSize } : {}),
            etag: res.etag,
            final,
            confirmedAt,
          },
          true,
        );
        this.o.metrics.uploaded(
          final ? 'final' : 'live',
          size - Math.max(0, prev),
          lagMs === undefined ? undefined : lagMs / 1000,
        );
        f.firstUnshippedAt = f.size > size ? Math.min(f.mtimeMs, confirmedAt) : undefined;
        this.o.onUploaded?.({ path: f.path, bucket: f.bucket, key: f.key, size, final, confirmedAt, lagMs });
        return;
      } catch (err) {
        if ('ifMatch' in condition && isObjectGone(err)) {
          this.objectGone(f);
          continue;
        }
        if (!isPrecondition(err)) throw err;
        await this.reconcile(f);
      }
    }
    throw new Error(`gave up reconciling ${f.key} after repeated conflicts`);
  }

  /**
   * The object we last confirmed is no longer there (a lifecycle rule, a manual delete, a bucket
   * restored empty): `If-Match` can never succeed again, so the whole file is written anew on
   * condition that the key is still absent. The confirmed size is kept, so the bytes metric counts
   * only growth; the journal keeps the old record until the new write is confirmed.
   */
  private objectGone(f: Tracked): void {
    if (!f.confirmed) return;
    this.o.logger.warn(
      { path: f.path, bucket: f.bucket, key: f.key, confirmedBytes: Math.max(0, f.confirmed.size) },
      'object gone from S3 (deleted, expired or the bucket restored); writing the whole file again',
    );
    this.o.metrics.reestablished();
    f.confirmed = { ...f.confirmed, etag: '' };
  }

  private confirm(f: Tracked, rec: ShipRecord, fresh: boolean): void {
    const wasFinal = f.confirmed?.final && f.confirmed.size === rec.size;
    f.confirmed = rec;
    // Retention waits for this record to be on disk (journal.sync) before it deletes the file.
    this.journal.record(rec);
    if (rec.final && !wasFinal) {
      this.o.metrics.fileFinished();
      if (this.airflowSeen && f.source.kind === 'task' && fresh) {
        f.watchUntil = this.now() + this.o.airflowWatchMs;
        f.nextWatchAt = this.now() + this.o.airflowWatchIntervalMs;
      }
    }
  }

  /**
   * Someone else wrote the key. Reads it and decides: our own earlier bytes (adopt), Airflow's
   * read-modify-write append of this same file onto our upload (rewrite as the file: every byte of
   * the object is in the file), or foreign content (never overwrite: move to a sibling key).
   */
  private async reconcile(f: Tracked): Promise<void> {
    const remote = await this.writer.get(f.bucket, f.key, this.abort.signal);
    if (!remote) {
      // Some stores answer a write `If-Match` on a missing key with 412 rather than NoSuchKey.
      if (f.confirmed?.etag) this.objectGone(f);
      else f.confirmed = undefined;
      return;
    }
    const local = await readRange(f.path, 0, f.size, f);
    const rel = relateRemote(remote.body, local);
    this.o.metrics.reconciled(rel.kind);
    if (rel.kind === 'prefix') {
      // Our own earlier bytes (a journal record lost in a crash, or a retry that landed): continue from them.
      f.confirmed = this.recordOf(f, f.key, remote.body, remote.etag);
      return;
    }
    if (rel.kind === 'airflow-append') {
      if (!this.airflowSeen && this.o.airflowUploads === 'auto') {
        this.o.logger.warn(
          { key: f.key },
          "Airflow's own S3 upload is on for this worker; Windsock reconciles its appends. Set AIRFLOW__LOGGING__REMOTE_LOGGING=False on workers (see README)",
        );
      }
      this.airflowSeen = this.o.airflowUploads !== 'off' || this.airflowSeen;
      // Overwrite Airflow's doubled object with the file, but only if it is still what we read.
      f.confirmed = {
        id: f.id,
        path: f.path,
        bucket: f.bucket,
        key: f.key,
        dev: f.dev,
        ino: f.ino,
        size: -1,
        sha256: '',
        etag: remote.etag,
        final: false,
        confirmedAt: this.now(),
      };
      return;
    }
    // Foreign: find a sibling key of ours that is empty or holds a prefix of this file.
    for (;;) {
      f.siblingN++;
      const key = siblingKey(f.baseKey, this.o.shipperId, f.siblingN);
      const there = await this.writer.get(f.bucket, key, this.abort.signal);
      if (!there) {
        this.o.logger.info(
          { path: f.path, key, occupiedBy: f.key },
          'attempt key holds other content; shipping beside it',
        );
        f.key = key;
        f.confirmed = undefined;
        return;
      }
      if (relateRemote(there.body, local).kind === 'prefix') {
        f.key = key;
        f.confirmed = this.recordOf(f, key, there.body, there.etag);
        return;
      }
      if (f.siblingN > 1000) throw new Error(`no free sibling key for ${f.baseKey}`);
    }
  }

  private recordOf(f: Tracked, key: string, body: Buffer, etag: string): ShipRecord {
    return {
      id: f.id,
      path: f.path,
      bucket: f.bucket,
      key,
      dev: f.dev,
      ino: f.ino,
      size: body.length,
      sha256: createHash('sha256').update(body).digest('base64'),
      etag,
      final: false,
      confirmedAt: this.now(),
    };
  }

  /** After a final upload (when Airflow also uploads): if the key changed, reconcile it back to the file. */
  private async checkAirflowUpload(f: Tracked): Promise<void> {
    const h = await this.writer.head(f.bucket, f.key, this.abort.signal);
    if (!h || h.etag === f.confirmed?.etag) return;
    await this.reconcile(f);
    f.watchUntil = 0;
    if (f.confirmed && f.confirmed.size < f.size) await this.upload(f, f.size);
  }

  private lastFinishCheck = 0;
  private finishChecking = false;
  private finishCursor = 0;

  /**
   * Asks the finish signal (the metadb, when configured) about every open task log in one batch, at
   * most every `finishCheckIntervalMs`; at most `finishCheckBatch` per round, taken round-robin so a
   * long tail of never-finishing files cannot starve the others.
   */
  private checkFinishSignals(): void {
    const signal = this.o.finishSignal;
    const interval = this.o.finishCheckIntervalMs ?? 1000;
    if (!signal || this.finishChecking || this.now() - this.lastFinishCheck < interval) return;
    this.lastFinishCheck = this.now();
    const open = [...this.files.values()].filter((f) => !f.finished && !f.gone && f.source.kind === 'task');
    if (open.length === 0) return;
    const limit = this.o.finishCheckBatch ?? 512;
    let batch = open;
    if (open.length > limit) {
      const from = this.finishCursor % open.length;
      batch = [...open.slice(from), ...open.slice(0, from)].slice(0, limit);
      this.finishCursor = from + limit;
    }
    const rels = new Map(batch.map((f) => [relative(f.source.directory, f.path).split(sep).join('/'), f]));
    this.finishChecking = true;
    void signal
      .attemptsFinished([...rels.keys()])
      .then((answers) => {
        for (const [rel, finished] of answers) {
          const f = rels.get(rel);
          if (!finished || !f || f.gone || f.finished) continue;
          f.finished = true;
          f.dirty = true;
        }
      })
      .catch((err) => this.o.logger.debug({ err: String(err) }, 'finish signal failed'))
      .finally(() => {
        this.finishChecking = false;
      });
  }

  /** Retention: deletes a local file only when its final version is confirmed and it has not changed since. */
  private async maybeDelete(f: Tracked): Promise<void> {
    if (!f.confirmed?.final || f.inFlight || f.gone || this.stopped || this.deleting.has(f.id)) return;
    this.deleting.add(f.id);
    try {
      await this.deleteIfShipped(f);
    } finally {
      this.deleting.delete(f.id);
    }
  }

  private readonly deleting = new Set<string>();

  private async deleteIfShipped(f: Tracked): Promise<void> {
    if (!f.confirmed?.final) return;
    const pressure = this.diskPressure;
    if (!this.o.deleteAfterShipped && !pressure) return;
    if (!pressure && this.now() - f.confirmed.confirmedAt < this.o.retainMs) return;
    let st: Stats;
    try {
      st = await stat(f.path);
    } catch {
      return;
    }
    if (st.size !== f.confirmed.size || st.ino !== f.ino || st.mtimeMs !== f.mtimeMs || f.inFlight) return;
    const confirmed = f.confirmed;
    // Group commit: the final record is fsynced (with whatever else is pending) before the file goes.
    try {
      await this.journal.sync();
    } catch (err) {
      this.o.logger.warn({ path: f.path, err: String(err) }, 'journal sync failed; the file is kept');
      return;
    }
    if (this.stopped || f.inFlight || f.gone || f.confirmed !== confirmed) return;
    try {
      st = await stat(f.path);
    } catch {
      return;
    }
    if (st.size !== confirmed.size || st.ino !== f.ino || st.mtimeMs !== f.mtimeMs) return;
    this.o.onDeleting?.(f.path, confirmed);
    if (this.stopped) return;
    await unlink(f.path).catch(() => undefined);
    this.journal.record({ ...confirmed, deleted: true });
    this.o.metrics.deleted();
    this.vanished(f);
  }

  private checkDisk(): void {
    if (this.stopped) return;
    try {
      const s = statfsSync(this.o.baseLogFolder);
      const ratio = s.bavail / s.blocks;
      this.o.metrics.diskFreeRatio(ratio);
      const was = this.diskPressure;
      this.diskPressure = ratio < this.o.diskPressureFreeRatio;
      if (this.diskPressure && !was)
        this.o.logger.warn({ freeRatio: ratio }, 'disk pressure: deleting confirmed logs early');
    } catch {
      // the folder may not exist yet
    }
    setTimeout(() => this.checkDisk(), 10_000).unref();
  }

  private isIdle(): boolean {
    if (this.inFlight > 0 || this.urgent.length > 0 || this.normal.length > 0 || this.scanning) return false;
    const now = this.now();
    for (const f of this.files.values()) {
      if (f.gone || this.gaveUp.has(f.path)) continue;
      if (f.queued || f.inFlight || f.dirty) return false;
      if (f.watchUntil > now) return false;
      const target = this.targetSize(f);
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
