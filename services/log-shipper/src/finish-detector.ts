import { relative, sep } from 'node:path';
import { hasTaskEndMarker } from '@windsock/airflow';
import type { Logger } from '@windsock/core';
import type { FinishSignal } from './finish.ts';
import { readRange } from './object-writer.ts';
import type { TrackedFile } from './tracked.ts';

/** Bytes at the end of a file scanned for end markers (a marker is in the last lines). */
export const MARKER_TAIL_BYTES = 64 * 1024;

/** Settings of a {@link FinishDetector}; times in ms. */
export interface FinishDetectorOptions {
  logger: Logger;
  endMarkers: RegExp[];
  /** A file unchanged this long counts as finished. */
  finishQuietMs: number;
  finishSignal?: FinishSignal;
  /** How often open task logs are checked with the finish signal (default 1000). */
  finishCheckIntervalMs?: number;
  /** At most this many logs per check (default 512). */
  finishCheckBatch?: number;
  now: () => number;
}

/**
 * Decides when a task log is finished (its final version can be shipped and, later, deleted): an
 * end marker among its last complete lines, a quiet period, or the finish signal (the metadb).
 * Also keeps the offset of the last complete line, which is what a running file ships up to.
 */
export class FinishDetector {
  private lastCheck = 0;
  private checking = false;
  private cursor = 0;

  constructor(private readonly o: FinishDetectorOptions) {}

  /** The file grew: scans the new bytes; a file without a marker at its end is not finished. */
  async grown(f: TrackedFile): Promise<void> {
    await this.scanTail(f);
    if (!f.markerSeen) f.finished = false;
  }

  /** Marks a file finished once it has been quiet for `finishQuietMs`. */
  checkQuiet(f: TrackedFile): void {
    if (!f.finished && this.o.now() - f.changedAt >= this.o.finishQuietMs) f.finished = true;
  }

  /** Reads bytes not yet scanned (at most the last 64 KiB of them) for end markers and line ends. */
  private async scanTail(f: TrackedFile): Promise<void> {
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

  /**
   * Asks the finish signal (the metadb, when configured) about every open task log in one batch, at
   * most every `finishCheckIntervalMs`; at most `finishCheckBatch` per round, taken round-robin so a
   * long tail of never-finishing files cannot starve the others.
   */
  checkSignals(files: Iterable<TrackedFile>): void {
    const signal = this.o.finishSignal;
    const interval = this.o.finishCheckIntervalMs ?? 1000;
    if (!signal || this.checking || this.o.now() - this.lastCheck < interval) return;
    this.lastCheck = this.o.now();
    const open = [...files].filter((f) => !f.finished && !f.gone && f.source.kind === 'task');
    if (open.length === 0) return;
    const limit = this.o.finishCheckBatch ?? 512;
    let batch = open;
    if (open.length > limit) {
      const from = this.cursor % open.length;
      batch = [...open.slice(from), ...open.slice(0, from)].slice(0, limit);
      this.cursor = from + limit;
    }
    const rels = new Map(batch.map((f) => [relative(f.source.directory, f.path).split(sep).join('/'), f]));
    this.checking = true;
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
        this.checking = false;
      });
  }
}
