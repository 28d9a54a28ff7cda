/**
 * `--once` reading: every named file from its start to its current end, one at a time, with no
 * per-file state kept afterwards. Nothing here follows rotation: a one-shot read has nothing to follow.
 */
import { closeSync, readSync } from 'node:fs';
import { compilePattern, FileProblem, fileProblem, openLogFile } from '@windsock/logfiles';
import type { FileInput } from './file-tailer.ts';
import { type LineHandler, LineSplitter } from './lines.ts';

/** A file to read, with the input that named it. */
export interface OnceFile {
  path: string;
  /** Index into the inputs list (so a worker thread can rebuild the input). */
  input: number;
  /** Found by a glob walk: if it is gone when read (deleted since the listing), it is skipped. */
  listed?: boolean;
}

/**
 * The paths the inputs name now, each once, found while they are read: one directory listing is
 * held at a time, not the list of every file (a task-log tree has tens of thousands). No stat
 * here: a path that turns out not to be a readable file fails when read, which saves a system
 * call per file on big task-log trees. A glob that names no file, or a directory it cannot list,
 * throws a {@link FileProblem} (for `--once`, reading nothing is an error, not an empty snapshot).
 */
export function* onceFiles(inputs: readonly FileInput[], cwd?: string): Generator<OnceFile, void, undefined> {
  const patterns = inputs.map((input) =>
    input.path === '-' || input.path.startsWith('docker://')
      ? undefined
      : compilePattern(input.path, cwd, (dir, err) => {
          throw fileProblem(dir, err);
        }),
  );
  // A path is kept only if a later input could name it too (usually none can): then that input skips it.
  const named = new Set<string>();
  for (let i = 0; i < patterns.length; i++) {
    const pattern = patterns[i];
    if (!pattern) continue;
    let any = false;
    for (const path of pattern.paths()) {
      any = true;
      if (named.size > 0 && named.has(path)) continue;
      for (let j = i + 1; j < patterns.length; j++) {
        if (patterns[j]?.couldName(path)) {
          named.add(path);
          break;
        }
      }
      yield pattern.isGlob ? { path, input: i, listed: true } : { path, input: i };
    }
    if (!any) {
      throw new FileProblem(pattern.pattern, 'ENOMATCH', `${pattern.pattern}: no file matches this pattern`);
    }
  }
}

/** {@link onceFiles} as a list (worker threads share one). */
export function listFiles(inputs: readonly FileInput[], cwd?: string): OnceFile[] {
  return [...onceFiles(inputs, cwd)];
}

const READ_CHUNK_BYTES = 1 << 20;
/** One read buffer per thread, reused by every call (files are read one at a time). */
let readBuffer: Buffer | undefined;

/** Totals of a one-shot read. */
export interface OnceStats {
  files: number;
  lines: number;
  bytes: number;
  truncatedLines: number;
  droppedBytes: number;
}

/**
 * Read files start to end into their handlers. A path that is not a readable regular file (missing,
 * a directory, a FIFO, unreadable) or a read error part way throws a {@link FileProblem} naming
 * the path: `--once` reports it and fails rather than print counts that silently miss a file.
 */
export function readFiles(
  files: Iterable<OnceFile>,
  handlerFor: (file: OnceFile) => LineHandler,
  maxLineBytes = 1 << 20,
): OnceStats {
  readBuffer ??= Buffer.allocUnsafe(READ_CHUNK_BYTES);
  const buf = readBuffer;
  const stats: OnceStats = { files: 0, lines: 0, bytes: 0, truncatedLines: 0, droppedBytes: 0 };
  for (const f of files) {
    let fd: number;
    try {
      fd = openLogFile(f.path);
    } catch (err) {
      if (f.listed && err instanceof FileProblem && err.code === 'ENOENT') continue;
      throw err;
    }
    try {
      const splitter = new LineSplitter(handlerFor(f), 0, maxLineBytes);
      let pos = 0;
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, buf, 0, buf.length, pos);
        } catch (err) {
          throw fileProblem(f.path, err, true);
        }
        if (n === 0) break;
        splitter.push(buf.subarray(0, n));
        pos += n;
      }
      splitter.flushPartial();
      splitter.finish();
      stats.files++;
      stats.lines += splitter.stats.lines;
      stats.bytes += splitter.stats.bytes;
      stats.truncatedLines += splitter.stats.truncatedLines;
      stats.droppedBytes += splitter.stats.droppedBytes;
    } finally {
      closeSync(fd);
    }
  }
  return stats;
}
