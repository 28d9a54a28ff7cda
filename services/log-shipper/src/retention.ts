import { type Stats, statfsSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import type { Logger } from '@windsock/core';
import type { ShipJournal, ShipRecord } from './journal.ts';
import type { ShipperMetrics } from './metrics.ts';
import type { TrackedFile } from './tracked.ts';

/** Settings of a {@link Retention}; times in ms. */
export interface RetentionOptions {
  logger: Logger;
  metrics: ShipperMetrics;
  journal: ShipJournal;
  /** The folder whose filesystem is watched for disk pressure. */
  baseLogFolder: string;
  /** Delete local files after their final version is confirmed, `retainMs` later. */
  deleteAfterShipped: boolean;
  retainMs: number;
  /** Below this free fraction of the log filesystem, confirmed final files are deleted at once. */
  diskPressureFreeRatio: number;
  /** Called just before a local file is deleted, once its final version is confirmed. */
  onDeleting?: (path: string, rec: ShipRecord) => void;
  /** Called after a file was deleted (the tracker forgets it). */
  onDeleted: (f: TrackedFile) => void;
  isStopped: () => boolean;
  now: () => number;
}

/**
 * Deletes local task logs whose final version is confirmed in S3 (after `retainMs`, or at once under
 * disk pressure), only once that record is on disk and the file has not changed since.
 */
export class Retention {
  private diskPressure = false;
  private readonly deleting = new Set<string>();

  constructor(private readonly o: RetentionOptions) {}

  /** Deletes the file when retention says so; a no-op otherwise (called again on later ticks). */
  async maybeDelete(f: TrackedFile): Promise<void> {
    if (!f.confirmed?.final || f.inFlight || f.gone || this.o.isStopped() || this.deleting.has(f.id)) return;
    this.deleting.add(f.id);
    try {
      await this.deleteIfShipped(f);
    } finally {
      this.deleting.delete(f.id);
    }
  }

  private async deleteIfShipped(f: TrackedFile): Promise<void> {
    if (!f.confirmed?.final) return;
    const pressure = this.diskPressure;
    if (!this.o.deleteAfterShipped && !pressure) return;
    if (!pressure && this.o.now() - f.confirmed.confirmedAt < this.o.retainMs) return;
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
      await this.o.journal.sync();
    } catch (err) {
      this.o.logger.warn({ path: f.path, err: String(err) }, 'journal sync failed; the file is kept');
      return;
    }
    if (this.o.isStopped() || f.inFlight || f.gone || f.confirmed !== confirmed) return;
    try {
      st = await stat(f.path);
    } catch {
      return;
    }
    if (st.size !== confirmed.size || st.ino !== f.ino || st.mtimeMs !== f.mtimeMs) return;
    this.o.onDeleting?.(f.path, confirmed);
    if (this.o.isStopped()) return;
    await unlink(f.path).catch(() => undefined);
    this.o.journal.record({ ...confirmed, deleted: true });
    this.o.metrics.deleted();
    this.o.onDeleted(f);
  }

  /** Measures the log filesystem's free space every 10 s (the gauge, and disk pressure on or off). */
  checkDisk(): void {
    if (this.o.isStopped()) return;
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
}
