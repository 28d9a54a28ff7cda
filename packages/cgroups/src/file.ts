/**
 * One open handle per kernel stat file, read with pread from offset 0: cgroupfs (kernfs) and
 * procfs seq_files regenerate their text on every read at offset 0, so a sample costs one
 * syscall per file instead of open + read + close.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** A kernel stat file that vanished under an open handle: its cgroup or process is gone. */
export class StatFileGoneError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`${path}: ${code} (the cgroup or process is gone)`);
    this.name = 'StatFileGoneError';
  }
}

// Shared by every StatFile: reads are synchronous, so one buffer serves them all.
let shared = Buffer.allocUnsafe(64 * 1024);

let openStatFiles = 0;

/**
 * A stat file kept open. `read()` returns its current text, or `undefined` when the file does
 * not exist (a controller that is not enabled, a kernel without the key): that is remembered, so
 * an absent file costs nothing on later samples.
 *
 * @example const f = new StatFile('/sys/fs/cgroup/unified/x/cpu.stat'); f.read(); f.close();
 */
export class StatFile {
  private fd: number | undefined;
  private absent = false;

  constructor(readonly path: string) {}

  /** The file's text now; `undefined` when it does not exist. Throws StatFileGoneError when it went away. */
  read(): string | undefined {
    if (this.absent) return undefined;
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.path, 'r');
        openStatFiles++;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR') {
          this.absent = true;
          return undefined;
        }
        throw err;
      }
    }
    let n: number;
    for (;;) {
      try {
        n = readSync(this.fd, shared, 0, shared.length, 0);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        this.close();
        // ENODEV: the cgroup was removed; ESRCH: the process (its /proc entry) exited.
        throw new StatFileGoneError(this.path, code);
      }
      if (n < shared.length) break;
      shared = Buffer.allocUnsafe(shared.length * 2);
    }
    return shared.toString('latin1', 0, n);
  }

  /** Whether the file was found absent (never opened). */
  isAbsent(): boolean {
    return this.absent;
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed by the kernel side: nothing to release
    }
    this.fd = undefined;
    openStatFiles--;
  }
}

/** The number of StatFile handles currently open. */
export function openStatFileCount(): number {
  return openStatFiles;
}
