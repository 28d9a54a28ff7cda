import { closeSync, constants, fstatSync, openSync } from 'node:fs';

/** Why a named path cannot be read as a log file (one line, with what to do). */
export class FileProblem extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileProblem';
  }
}

const WHAT: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'a symbolic link loop',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'is a directory (name the files, or a glob such as dir/*.log)',
  ENAMETOOLONG: 'the path is too long',
  EIO: 'an I/O error',
};

/** A FileProblem from a thrown fs error. */
export function fileProblem(path: string, err: unknown, reading = false): FileProblem {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? 'ERROR';
  const what = WHAT[code] ?? e?.message ?? String(err);
  return new FileProblem(path, code, `${path}: ${reading ? 'read failed: ' : ''}${what} (${code})`);
}

/**
 * Open a log file for reading: never blocks (a FIFO or a device is refused, not waited on) and
 * accepts regular files only. Throws a {@link FileProblem} saying what is wrong with the path.
 */
export function openLogFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fileProblem(path, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory()
        ? 'is a directory (name the files, or a glob such as dir/*.log)'
        : st.isFIFO()
          ? 'is a FIFO (pipe it to stdin instead: ... | windsock log-metrics -)'
          : 'is not a regular file';
      throw new FileProblem(path, st.isDirectory() ? 'EISDIR' : 'ENOTFILE', `${path}: ${kind}`);
    }
  } catch (err) {
    closeSync(fd);
    throw err instanceof FileProblem ? err : fileProblem(path, err);
  }
  return fd;
}
