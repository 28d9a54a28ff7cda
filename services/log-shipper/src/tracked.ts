import type { SourceSpec } from './discovery.ts';
import type { ShipRecord } from './journal.ts';

/**
 * What the shipper knows of one local log file generation. The parts share it: the tracker keeps
 * its size and identity, finish detection its end state, the uploader its queue state and the
 * confirmed record, the reconciler its key and Airflow watch, retention reads it.
 */
export interface TrackedFile {
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
  /**
   * What S3 holds of this file. An `etag` of '' means the object is known to be gone (written again
   * with If-None-Match); `size` -1 means the object must be rewritten as the file (Airflow's append).
   */
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

/** What a journal record says beyond which file and key it is about. */
export type RecordedContent = Omit<ShipRecord, 'id' | 'path' | 'bucket' | 'key' | 'dev' | 'ino'>;

/** The journal record for what S3 holds of `f` at `key` (default: the file's current key). */
export function recordOf(f: TrackedFile, content: RecordedContent, key = f.key): ShipRecord {
  return { id: f.id, path: f.path, bucket: f.bucket, key, dev: f.dev, ino: f.ino, ...content };
}
