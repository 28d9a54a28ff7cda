import { closeSync, fdatasync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { AtomicFile } from '@windsock/logfiles';

/** What Windsock has confirmed in S3 for one local file generation. */
export interface ShipRecord {
  /** Identity of the local file: its path for task logs, `inode:<dev>:<ino>` for rotated process logs. */
  id: string;
  path: string;
  bucket: string;
  key: string;
  dev: number;
  ino: number;
  /** Bytes of the local file confirmed in S3 (the object is exactly these bytes). */
  size: number;
  /** Base64 SHA-256 of those bytes, or with `partSize` their multipart composite (S3's checksum of the object). */
  sha256: string;
  /** Set when `sha256` is a composite: SHA-256 over the SHA-256 of each `partSize` piece, in order. */
  partSize?: number;
  etag: string;
  /** The confirmed content was the file at a moment it was considered finished. */
  final: boolean;
  /** The local file was deleted by retention after the final version was confirmed. */
  deleted?: boolean;
  /** Epoch ms of the confirmation. */
  confirmedAt: number;
}

/** Counts from loading a journal: how many records were read and how many torn/corrupt lines were dropped. */
export interface JournalLoadReport {
  records: number;
  dropped: number;
}

/**
 * A crash-safe, append-only journal of confirmed uploads. Each line is `<crc32 hex> <json>`: a line
 * torn by SIGKILL or a power cut fails its checksum and is dropped on load, so the journal can only
 * lose the last unfinished record (which means one extra upload, never a lost byte). Compaction writes
 * a snapshot with the tree's one atomic writer (temp file, fsync, rename, directory fsync).
 *
 * Durability is a group commit: `record()` appends at once (a crash of the process loses nothing the
 * kernel has), and `sync()` resolves when every record appended before the call is on disk; callers
 * waiting at the same time share one fdatasync, which runs off the event loop.
 */
export class ShipJournal {
  private fd: number | undefined;
  private readonly entries = new Map<string, ShipRecord>();
  private appended = 0;
  /** Records appended so far, and how many of them are known to be on disk. */
  private appendedSeq = 0;
  private durableSeq = 0;
  private syncing: Promise<void> | undefined;

  constructor(
    readonly file: string,
    private readonly options: { fsync?: boolean; compactEvery?: number } = {},
  ) {}

  /** Reads the journal (dropping torn lines), rewrites it compacted and opens it for appends. */
  async open(): Promise<JournalLoadReport> {
    await mkdir(dirname(this.file), { recursive: true });
    const report = { records: 0, dropped: 0 };
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const rec = decodeLine(line);
      if (!rec) {
        report.dropped++;
        continue;
      }
      report.records++;
      this.entries.set(rec.id, rec);
    }
    this.compact();
    return report;
  }

  /** The last confirmed record of a file, if any. */
  get(id: string): ShipRecord | undefined {
    return this.entries.get(id);
  }

  /** Every live record. */
  all(): IterableIterator<ShipRecord> {
    return this.entries.values();
  }

  /** Appends a record (with the `fsync` option, a group sync follows without waiting for it). */
  record(rec: ShipRecord): void {
    if (this.fd === undefined) throw new Error('journal is not open');
    this.entries.set(rec.id, rec);
    writeSync(this.fd, encodeLine(rec));
    this.appendedSeq++;
    this.appended++;
    if (this.appended >= (this.options.compactEvery ?? 20_000) && this.appended > this.entries.size) this.compact();
    if (this.options.fsync) void this.sync().catch(() => undefined);
  }

  /** Resolves when every record appended before this call is on disk (required before deleting a file). */
  async sync(): Promise<void> {
    const target = this.appendedSeq;
    while (this.durableSeq < target) {
      this.syncing ??= this.syncOnce().finally(() => {
        this.syncing = undefined;
      });
      await this.syncing;
    }
  }

  private async syncOnce(): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) throw new Error('journal is closed');
    const upTo = this.appendedSeq;
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    // compact() and close() sync everything themselves, so a concurrent one only moves this further.
    this.durableSeq = Math.max(this.durableSeq, upTo);
  }

  /** Forgets a file (its local copy is gone and its final version confirmed). */
  forget(id: string): void {
    this.entries.delete(id);
  }

  /** Rewrites the journal as one record per live file, atomically (`@windsock/logfiles`' AtomicFile). */
  compact(): void {
    new AtomicFile(this.file, { mode: 0o600 }).write(this.snapshot());
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(this.file, 'a', 0o600);
    this.appended = 0;
    this.durableSeq = this.appendedSeq;
  }

  /** The live records as journal lines, in chunks of 1,000. */
  private *snapshot(): Generator<string> {
    const chunk: string[] = [];
    for (const rec of this.entries.values()) {
      chunk.push(encodeLine(rec));
      if (chunk.length >= 1000) yield chunk.splice(0).join('');
    }
    if (chunk.length) yield chunk.join('');
  }

  /** Flushes to disk and closes. */
  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    this.durableSeq = this.appendedSeq;
  }
}

function encodeLine(rec: ShipRecord): string {
  const json = JSON.stringify(rec);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** A record from one journal line, or undefined when the line is torn or corrupt. */
export function decodeLine(line: string): ShipRecord | undefined {
  if (line.length < 10 || line[8] !== ' ') return undefined;
  const json = line.slice(9);
  if (crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) return undefined;
  try {
    const rec = JSON.parse(json) as ShipRecord;
    return typeof rec.id === 'string' && typeof rec.size === 'number' ? rec : undefined;
  } catch {
    return undefined;
  }
}
