import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { s3LogLocation } from '@windsock/airflow';
import type { Logger } from '@windsock/core';
import { FileDiscovery, type SourceSpec } from './discovery.ts';
import { type FinishDetector, MARKER_TAIL_BYTES } from './finish-detector.ts';
import type { ShipJournal, ShipRecord } from './journal.ts';
import { prefixDigest } from './object-writer.ts';
import type { TrackedFile } from './tracked.ts';

/** Settings of a {@link FileTracker}. */
export interface FileTrackerOptions {
  sources: SourceSpec[];
  logger: Logger;
  journal: ShipJournal;
  finish: FinishDetector;
  /** Names this host in process-log keys. */
  shipperId: string;
  /** Called after a file was stat'ed (it may need an upload or a retention step). */
  onChange: (f: TrackedFile) => void;
  /** Called after a file vanished and was forgotten. */
  onVanished: () => void;
  now: () => number;
}

/**
 * The files being shipped: finds them (scans and native watching), stats them, and keeps what is
 * known of each generation. A task log is known by its path (a new file at the path is a new
 * generation of the attempt's log); a process log by its inode, so a rename rotation keeps its key.
 * A journal record is resumed only when the file still starts with the confirmed bytes.
 */
export class FileTracker {
  readonly files = new Map<string, TrackedFile>();
  private readonly byPath = new Map<string, TrackedFile>();
  private readonly discovery: FileDiscovery;
  private readonly observing = new Set<string>();
  private readonly recheck = new Set<string>();
  private scanning: Promise<void> | undefined;

  constructor(private readonly o: FileTrackerOptions) {
    this.discovery = new FileDiscovery(o.sources, o.logger, (path, source) => this.noticed(path, source));
  }

  /** True while a scan runs. */
  get isScanning(): boolean {
    return this.scanning !== undefined;
  }

  /** Starts native watching of every source folder. */
  watch(): Promise<void> {
    return this.discovery.watch();
  }

  /** Stops watching. */
  close(): Promise<void> {
    return this.discovery.close();
  }

  /** Full scan of every source; new and changed files are picked up, vanished ones dropped. */
  scan(): Promise<void> {
    if (this.scanning) return this.scanning;
    this.scanning = (async () => {
      try {
        const scanStartedAt = this.o.now();
        const seen = await this.discovery.scan();
        for (const f of this.files.values()) {
          // A rotated-away file that a whole scan did not find under any name was deleted (or no longer matches).
          if (f.moved && f.movedAt < scanStartedAt) this.vanished(f);
          else if (f.moved) continue;
          else if (!seen.has(f.path)) await this.observe(f.path, f.source);
        }
      } catch (err) {
        this.o.logger.error({ err: String(err) }, 'scan failed; retrying at the next interval');
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  /** Journal records of files that no longer exist (deleted after their final upload) are dropped. */
  forgetMissing(): void {
    for (const rec of [...this.o.journal.all()]) if (!this.files.has(rec.id)) this.o.journal.forget(rec.id);
  }

  private noticed(path: string, source: SourceSpec): Promise<void> {
    const f = this.byPath.get(path);
    if (f && !f.gone) {
      f.dirty = true;
      return Promise.resolve();
    }
    return this.observe(path, source);
  }

  /** Stats a file and updates what we know; `onChange` decides what follows. */
  async observe(path: string, source: SourceSpec): Promise<void> {
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
        f.movedAt = this.o.now();
        f = undefined;
      }
    }
    if (!f || f.gone) f = await this.track(path, source, st);
    if (!f) return;
    f.lastStatAt = this.o.now();
    f.dirty = false;
    if (st.size !== f.size || st.mtimeMs !== f.mtimeMs) {
      if (st.size < (f.confirmed?.size ?? 0) || st.size < f.scannedTo) this.newGeneration(f, 'truncated');
      if (st.size > (f.confirmed?.size ?? 0) && f.firstUnshippedAt === undefined) {
        f.firstUnshippedAt = Math.min(st.mtimeMs, this.o.now());
      }
      f.size = st.size;
      f.mtimeMs = st.mtimeMs;
      f.changedAt = this.o.now();
      await this.o.finish.grown(f);
    }
    this.o.finish.checkQuiet(f);
    this.o.onChange(f);
  }

  private async track(path: string, source: SourceSpec, st: Stats): Promise<TrackedFile | undefined> {
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
    let rec = this.o.journal.get(id);
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
        const k = s3LogLocation(source.remote, this.processLogRelative(rel, st.birthtimeMs || this.o.now()));
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
    const f: TrackedFile = {
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
      changedAt: this.o.now(),
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

  /** A process log's path under its remote prefix: `<shipperId>/<relative path>.<UTC stamp to the second>`. */
  private processLogRelative(rel: string, atMs: number): string {
    const stamp = new Date(atMs)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return `${this.o.shipperId}/${rel}.${stamp}`;
  }

  private async prefixMatches(path: string, rec: ShipRecord): Promise<boolean> {
    try {
      return (await prefixDigest(path, rec.size, rec.partSize)) === rec.sha256;
    } catch {
      return false;
    }
  }

  /** The file at this path now holds new content: keep the old object, ship the new one beside it. */
  private newGeneration(f: TrackedFile, why: string): void {
    this.o.logger.info({ path: f.path, why }, 'new generation of a log file');
    if (f.source.kind === 'process') {
      const rel = relative(f.source.directory, f.path).split(sep).join('/');
      f.key = s3LogLocation(f.source.remote, this.processLogRelative(rel, this.o.now())).key;
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

  /** Forgets a file that is gone from disk (deleted, or rotated away and not found again). */
  vanished(f: TrackedFile): void {
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
    this.o.journal.forget(f.id);
    this.o.onVanished();
  }
}
