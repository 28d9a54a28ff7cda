/**
 * Discovery: which files the inputs name, found by polling. One answer for every service: a glob
 * is expanded again every `rescanIntervalMs` (a bounded, predictable cost; it works on every
 * filesystem, including EFS/NFS and overlay mounts where inotify misses writes from other hosts or
 * containers), and between rescans only the files already followed are `stat`ed. Native watching
 * (inotify) may be added by a caller to notice files sooner, never instead of the rescan.
 *
 * {@link PathProblems} turns an unusable path (a symlink loop, a path through a file, a directory
 * that cannot be listed, a file that cannot be opened) into one warning per path and outage,
 * not one per poll; the other paths go on being read.
 */
import type { Logger } from '@windsock/core';

/** The error code of a thrown value, or its text. */
function describe(err: unknown): { code: string; message: string } {
  if (typeof err === 'string') return { code: err, message: err };
  const e = err as NodeJS.ErrnoException;
  return { code: e?.code ?? 'ERROR', message: e?.message ?? String(err) };
}

const HINTS: Record<string, string> = {
  ELOOP: 'a symbolic link loop',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'a directory, not a file',
  EIO: 'an I/O error',
  ENAMETOOLONG: 'the path is too long',
};

/** One warning per bad path (until it recovers), and a count for self-metrics. */
export class PathProblems {
  private readonly current = new Map<string, string>();
  private readonly waited = new Set<string>();
  private readonly seen = new Set<string>();
  /** Warnings logged since start (one per path and outage). */
  reported = 0;

  constructor(private readonly logger: Logger) {}

  /** `path` cannot be used now: warn, unless the same problem was already reported for it. */
  report(path: string, err: unknown): void {
    const { code, message } = describe(err);
    if (this.current.get(path) === code) return;
    this.current.set(path, code);
    this.reported++;
    this.logger.warn(
      { path, code, problem: HINTS[code] ?? message },
      'cannot read this log path; skipping it (other paths are read; it is retried quietly and reported again only after it has recovered)',
    );
  }

  /** `path` (a plain path, or a glob) names nothing yet: say once that we wait for it (tail -F). */
  waiting(path: string): void {
    if (this.waited.has(path) || this.seen.has(path)) return;
    this.waited.add(path);
    this.logger.info({ path }, 'no such log file yet: waiting for it to appear');
  }

  /** `path` works (again). */
  ok(path: string): void {
    this.seen.add(path);
    if (this.current.delete(path)) this.logger.info({ path }, 'log path readable again');
  }

  /** Paths with a problem now, with its code. */
  active(): Record<string, string> {
    return Object.fromEntries(this.current);
  }
}
