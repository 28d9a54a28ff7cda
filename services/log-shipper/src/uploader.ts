import type { Logger } from '@windsock/core';
import type { ShipJournal, ShipRecord } from './journal.ts';
import type { ShipperMetrics } from './metrics.ts';
import {
  IntegrityError,
  isObjectGone,
  isPrecondition,
  type ObjectWriter,
  type WriteCondition,
} from './object-writer.ts';
import type { Reconciler } from './reconciler.ts';
import { backoffMs, failureClass, failureReason } from './retry.ts';
import { recordOf, type TrackedFile } from './tracked.ts';

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

/** Settings of an {@link Uploader}. */
export interface UploaderOptions {
  writer: ObjectWriter;
  reconciler: Reconciler;
  journal: ShipJournal;
  logger: Logger;
  metrics: ShipperMetrics;
  maxConcurrentUploads: number;
  /** Called after each confirmed upload (benches and tests measure lag with it). */
  onUploaded?: (e: UploadedEvent) => void;
  /** Called when an upload ended, whatever its outcome (the file may need another one). */
  onSettled: (f: TrackedFile) => void;
  signal: AbortSignal;
  now: () => number;
}

/**
 * Ships files to their keys: a queue (finished files first) drained with at most
 * `maxConcurrentUploads` uploads in flight, each a conditional write of the file's bytes so far
 * (`If-None-Match: *` for the first, `If-Match` on our last ETag after), a conflict handed to the
 * reconciler, each confirmation recorded in the journal. A failed upload is retried with a growing
 * delay; nothing is dropped.
 */
export class Uploader {
  private readonly urgent: TrackedFile[] = [];
  private readonly normal: TrackedFile[] = [];
  private inFlightCount = 0;
  /** `--once`: ship each file whole (not only complete lines) even when it is not finished. */
  shipWhole = false;
  /** `--once`: a file is given up after this many failed uploads (0: never). */
  maxFailures = 0;
  /** Paths given up (`--once`). */
  readonly gaveUp = new Set<string>();

  constructor(private readonly o: UploaderOptions) {}

  /** Uploads in flight. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** True when nothing is queued or in flight. */
  get drained(): boolean {
    return this.inFlightCount === 0 && this.urgent.length === 0 && this.normal.length === 0;
  }

  /** Bytes to ship: the whole file when finished, else up to the last complete line. */
  targetSize(f: TrackedFile): number {
    if (f.size < 0) return -1;
    if (f.finished || this.shipWhole) return f.size;
    // Only whole lines while a task runs: Airflow decodes each object as UTF-8, and a cut line would be shown twice.
    return Math.min(f.lineEnd, f.size);
  }

  /** Queues an upload of `f` at `at` (now or earlier: at once; later: the caller asks again then). */
  enqueue(f: TrackedFile, at: number, urgent: boolean): void {
    if (f.inFlight) {
      f.again = true;
      return;
    }
    f.dueAt = at;
    if (f.queued) return;
    if (at <= this.o.now()) {
      f.queued = true;
      (urgent ? this.urgent : this.normal).push(f);
      this.pump();
    }
  }

  /** Starts queued uploads up to the concurrency limit. */
  pump(): void {
    while (this.inFlightCount < this.o.maxConcurrentUploads) {
      const f = this.urgent.shift() ?? this.normal.shift();
      if (!f) return;
      f.queued = false;
      if (f.gone || f.inFlight) continue;
      f.inFlight = true;
      this.inFlightCount++;
      void this.ship(f).finally(() => {
        f.inFlight = false;
        this.inFlightCount--;
        if (f.again) {
          f.again = false;
          f.dirty = true;
        }
        this.o.onSettled(f);
        this.pump();
      });
    }
  }

  private async ship(f: TrackedFile): Promise<void> {
    const now = this.o.now();
    const target = this.targetSize(f);
    const done = f.confirmed?.size ?? -1;
    try {
      if (target <= done) {
        if (f.finished && target === f.size && f.confirmed && !f.confirmed.final) {
          this.confirm(f, { ...f.confirmed, final: true, confirmedAt: now }, false);
        } else if (f.confirmed?.final && f.watchUntil > now) {
          const again = await this.o.reconciler.checkAirflowUpload(f);
          if (again === 'gone') this.objectGone(f);
          else if (again) await this.upload(f, f.size);
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
      if (this.maxFailures > 0 && f.failures >= this.maxFailures) {
        this.gaveUp.add(f.path);
        return;
      }
      // Nothing is dropped: the file waits with a growing, jittered delay.
      f.dueAt =
        this.o.now() + Math.max(200, backoffMs({ attempts: 0, baseDelayMs: 500, maxDelayMs: 30_000 }, f.failures));
      if (err instanceof IntegrityError && err.etag && f.confirmed) f.confirmed = { ...f.confirmed, etag: err.etag };
    } finally {
      f.lastUploadAt = now;
    }
  }

  /** Writes `path[0, size)` to the file's key; on a conflict works out who wrote what and tries again. */
  private async upload(f: TrackedFile, size: number): Promise<void> {
    for (let round = 0; round < 25; round++) {
      const condition: WriteCondition = f.confirmed?.etag ? { ifMatch: f.confirmed.etag } : { ifNoneMatch: true };
      const final = f.finished && size === f.size;
      try {
        const res = await this.o.writer.write(f.bucket, f.key, f.path, size, condition, this.o.signal, f);
        const confirmedAt = this.o.now();
        const lagMs = f.firstUnshippedAt !== undefined ? Math.max(0, confirmedAt - f.firstUnshippedAt) : undefined;
        const prev = f.confirmed?.size ?? 0;
        const part = res.partSize ? { partSize: res.partSize } : {};
        this.confirm(f, recordOf(f, { size, sha256: res.sha256, ...part, etag: res.etag, final, confirmedAt }), true);
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
        if ((await this.o.reconciler.reconcile(f)) === 'gone') this.objectGone(f);
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
  private objectGone(f: TrackedFile): void {
    if (!f.confirmed) return;
    this.o.logger.warn(
      { path: f.path, bucket: f.bucket, key: f.key, confirmedBytes: Math.max(0, f.confirmed.size) },
      'object gone from S3 (deleted, expired or the bucket restored); writing the whole file again',
    );
    this.o.metrics.reestablished();
    f.confirmed = { ...f.confirmed, etag: '' };
  }

  private confirm(f: TrackedFile, rec: ShipRecord, fresh: boolean): void {
    const wasFinal = f.confirmed?.final && f.confirmed.size === rec.size;
    f.confirmed = rec;
    // Retention waits for this record to be on disk (journal.sync) before it deletes the file.
    this.o.journal.record(rec);
    if (rec.final && !wasFinal) {
      this.o.metrics.fileFinished();
      if (fresh) this.o.reconciler.finalConfirmed(f);
    }
  }
}
