import { createHash } from 'node:crypto';
import type { Logger } from '@windsock/core';
import type { ShipRecord } from './journal.ts';
import type { ShipperMetrics } from './metrics.ts';
import { type ObjectWriter, readRange } from './object-writer.ts';
import { relateRemote } from './reconcile.ts';
import { siblingKey } from './remote-key.ts';
import { recordOf, type TrackedFile } from './tracked.ts';

/** Settings of a {@link Reconciler}; times in ms. */
export interface ReconcilerOptions {
  writer: ObjectWriter;
  logger: Logger;
  metrics: ShipperMetrics;
  /** Names this host in sibling keys. */
  shipperId: string;
  /** Whether Airflow's own S3 upload also runs on the workers (see README: coexisting with Airflow). */
  airflowUploads: 'off' | 'on' | 'auto';
  /** After a final upload, how long to watch the key for Airflow's append (when Airflow uploads). */
  airflowWatchMs: number;
  airflowWatchIntervalMs: number;
  signal: AbortSignal;
  now: () => number;
}

/** What {@link Reconciler.reconcile} found at the key. */
export type ReconcileOutcome =
  /** The file's record now says what to write next (adopted bytes, a rewrite, a sibling key). */
  | 'resolved'
  /** Nothing is at the key although we had confirmed an object there: it was deleted. */
  | 'gone';

/**
 * Works out who wrote a key that changed under us, and watches keys for Airflow's own end-of-task
 * upload: our own earlier bytes are adopted, Airflow's read-modify-write append of this same file is
 * rewritten as the file, and foreign content is never overwritten (the file goes to a sibling key).
 */
export class Reconciler {
  private seen: boolean;

  constructor(private readonly o: ReconcilerOptions) {
    this.seen = o.airflowUploads === 'on';
  }

  /** Whether Airflow's own uploads are known to run (configured on, or an append was seen). */
  get airflowUploadsSeen(): boolean {
    return this.seen;
  }

  /** A final version was just confirmed: watch its key for Airflow's append, when Airflow uploads. */
  finalConfirmed(f: TrackedFile): void {
    if (!this.seen || f.source.kind !== 'task') return;
    f.watchUntil = this.o.now() + this.o.airflowWatchMs;
    f.nextWatchAt = this.o.now() + this.o.airflowWatchIntervalMs;
  }

  /**
   * Someone else wrote the key. Reads it and decides: our own earlier bytes (adopt), Airflow's
   * read-modify-write append of this same file onto our upload (rewrite as the file: every byte of
   * the object is in the file), or foreign content (never overwrite: move to a sibling key).
   */
  async reconcile(f: TrackedFile): Promise<ReconcileOutcome> {
    const remote = await this.o.writer.get(f.bucket, f.key, this.o.signal);
    if (!remote) {
      // Some stores answer a write `If-Match` on a missing key with 412 rather than NoSuchKey.
      if (f.confirmed?.etag) return 'gone';
      f.confirmed = undefined;
      return 'resolved';
    }
    const local = await readRange(f.path, 0, f.size, f);
    const rel = relateRemote(remote.body, local);
    this.o.metrics.reconciled(rel.kind);
    if (rel.kind === 'prefix') {
      // Our own earlier bytes (a journal record lost in a crash, or a retry that landed): continue from them.
      f.confirmed = this.adopted(f, f.key, remote.body, remote.etag);
      return 'resolved';
    }
    if (rel.kind === 'airflow-append') {
      if (!this.seen && this.o.airflowUploads === 'auto') {
        this.o.logger.warn(
          { key: f.key },
          "Airflow's own S3 upload is on for this worker; Windsock reconciles its appends. Set AIRFLOW__LOGGING__REMOTE_LOGGING=False on workers (see README)",
        );
      }
      this.seen = this.o.airflowUploads !== 'off' || this.seen;
      // Overwrite Airflow's doubled object with the file, but only if it is still what we read.
      f.confirmed = recordOf(f, { size: -1, sha256: '', etag: remote.etag, final: false, confirmedAt: this.o.now() });
      return 'resolved';
    }
    // Foreign: find a sibling key of ours that is empty or holds a prefix of this file.
    for (;;) {
      f.siblingN++;
      const key = siblingKey(f.baseKey, this.o.shipperId, f.siblingN);
      const there = await this.o.writer.get(f.bucket, key, this.o.signal);
      if (!there) {
        this.o.logger.info(
          { path: f.path, key, occupiedBy: f.key },
          'attempt key holds other content; shipping beside it',
        );
        f.key = key;
        f.confirmed = undefined;
        return 'resolved';
      }
      if (relateRemote(there.body, local).kind === 'prefix') {
        f.key = key;
        f.confirmed = this.adopted(f, key, there.body, there.etag);
        return 'resolved';
      }
      if (f.siblingN > 1000) throw new Error(`no free sibling key for ${f.baseKey}`);
    }
  }

  /**
   * After a final upload (when Airflow also uploads): if the key changed, reconciles it back to the
   * file and stops watching; true when the caller must upload the file again.
   */
  async checkAirflowUpload(f: TrackedFile): Promise<boolean | 'gone'> {
    const h = await this.o.writer.head(f.bucket, f.key, this.o.signal);
    if (!h || h.etag === f.confirmed?.etag) return false;
    const outcome = await this.reconcile(f);
    f.watchUntil = 0;
    if (outcome === 'gone') return 'gone';
    return f.confirmed !== undefined && f.confirmed.size < f.size;
  }

  /** The record of an object whose bytes `body` are a prefix of the file (adopted as confirmed). */
  private adopted(f: TrackedFile, key: string, body: Buffer, etag: string): ShipRecord {
    const sha256 = createHash('sha256').update(body).digest('base64');
    return recordOf(f, { size: body.length, sha256, etag, final: false, confirmedAt: this.o.now() }, key);
  }
}
