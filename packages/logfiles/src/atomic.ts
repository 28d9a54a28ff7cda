/**
 * The one atomic writer for state files (checkpoints, journal snapshots): write a temp file next to
 * the target, fsync it, rename it over the target, fsync the directory. A reader sees the old or
 * the new content, never a torn one, even after SIGKILL or a power cut.
 *
 * Two phases, so a caller can write and sync the next state *before* the work it describes is
 * confirmed, and make it visible with only a rename afterwards (`prepare` ... `commit`). A
 * missing directory (deleted under a running service) is created again.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Options of {@link AtomicFile}. */
export interface AtomicFileOptions {
  /** Mode of the file (default 0o600: state files may name paths of other users' logs). */
  mode?: number;
  /** Skip the fsyncs (tests and throwaway state only). */
  noSync?: boolean;
}

/** A file replaced atomically; see the module comment. */
export class AtomicFile {
  readonly tmp: string;
  readonly dir: string;

  constructor(
    readonly path: string,
    private readonly opts: AtomicFileOptions = {},
  ) {
    this.tmp = `${path}.tmp`;
    this.dir = dirname(path);
  }

  /**
   * Write the next content to the temp file and sync it; nothing visible changes yet. Chunks are
   * written in order (a journal snapshot need not be one string). Throws on failure (the caller
   * decides whether that blocks anything: a checkpoint failure should not).
   */
  prepare(data: string | Buffer | Iterable<string | Buffer>): void {
    let fd: number;
    try {
      fd = openSync(this.tmp, 'w', this.opts.mode ?? 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The directory is gone (deleted under us): create it again.
      mkdirSync(this.dir, { recursive: true });
      fd = openSync(this.tmp, 'w', this.opts.mode ?? 0o600);
    }
    try {
      if (typeof data === 'string' || Buffer.isBuffer(data)) writeAll(fd, data);
      else for (const chunk of data) writeAll(fd, chunk);
      if (!this.opts.noSync) fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      this.abandon();
      throw err;
    }
    closeSync(fd);
  }

  /** Make the prepared content the current one: atomic rename, then sync the directory. */
  commit(): void {
    renameSync(this.tmp, this.path);
    if (this.opts.noSync) return;
    try {
      const dir = openSync(this.dir, 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch {
      /* some filesystems refuse fsync on a directory; the rename itself is already atomic */
    }
  }

  /** Drop a prepared content whose work failed. */
  abandon(): void {
    try {
      unlinkSync(this.tmp);
    } catch {
      /* nothing prepared */
    }
  }

  /** prepare + commit. */
  write(data: string | Buffer | Iterable<string | Buffer>): void {
    this.prepare(data);
    this.commit();
  }
}

/** Replace `path` atomically with `data` (see {@link AtomicFile}). */
export function writeFileAtomic(
  path: string,
  data: string | Buffer | Iterable<string | Buffer>,
  opts: AtomicFileOptions = {},
): void {
  new AtomicFile(path, opts).write(data);
}

function writeAll(fd: number, data: string | Buffer): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
