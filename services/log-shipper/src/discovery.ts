import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Logger } from '@windsock/core';
import { PathProblems } from '@windsock/logfiles';
import { type FSWatcher, watch } from 'chokidar';
import picomatch from 'picomatch';

/** A folder whose matching files are shipped: Airflow's task logs, or process logs with their own prefix. */
export interface SourceSpec {
  kind: 'task' | 'process';
  directory: string;
  /** Globs relative to `directory`. */
  include: string[];
  exclude: string[];
  /** `s3://bucket/prefix` the relative path is joined to. */
  remote: string;
}

const SCAN_PARALLELISM = 32;

/**
 * Finds log files: a full recursive scan (the safety net; symlinks are not followed) and native
 * watching (inotify via chokidar) so new files are noticed at once. Either path calls `onFile`.
 */
export class FileDiscovery {
  private watcher: FSWatcher | undefined;
  private readonly matchers: { spec: SourceSpec; match: (rel: string) => boolean }[];
  /** Folders that could not be listed: warned about once per outage (`@windsock/logfiles`), not every scan. */
  readonly problems: PathProblems;
  private readonly unreadable = new Set<string>();

  constructor(
    sources: SourceSpec[],
    private readonly logger: Logger,
    private readonly onFile: (path: string, source: SourceSpec) => Promise<void>,
  ) {
    this.problems = new PathProblems(logger);
    this.matchers = sources.map((spec) => {
      const inc = picomatch(spec.include.length ? spec.include : ['**'], { dot: true });
      const exc = spec.exclude.length ? picomatch(spec.exclude, { dot: true }) : () => false;
      return { spec, match: (rel: string) => inc(rel) && !exc(rel) };
    });
  }

  /** Scans every source; returns the paths of all matching files. */
  async scan(): Promise<Set<string>> {
    const seen = new Set<string>();
    for (const { spec, match } of this.matchers) {
      const pending: Promise<void>[] = [];
      const dirs = [spec.directory];
      while (dirs.length) {
        const dir = dirs.pop()!;
        let entries: Dirent[];
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
            this.unreadable.add(dir);
            this.problems.report(dir, err);
          }
          continue;
        }
        if (this.unreadable.delete(dir)) this.problems.ok(dir);
        for (const e of entries) {
          const path = join(dir, e.name);
          if (e.isDirectory()) dirs.push(path);
          else if (e.isFile() && match(toRel(spec.directory, path))) {
            seen.add(path);
            pending.push(this.onFile(path, spec));
            if (pending.length >= SCAN_PARALLELISM) await Promise.all(pending.splice(0));
          }
        }
      }
      await Promise.all(pending);
    }
    return seen;
  }

  /** Starts native watching of every source folder. */
  async watch(): Promise<void> {
    const dirs = this.matchers.map((m) => m.spec.directory);
    const w = watch(dirs, {
      ignoreInitial: true,
      persistent: true,
      followSymlinks: false,
      ignorePermissionErrors: true,
    });
    const handle = (path: string) => {
      const m = this.matchers.find(
        (x) =>
          (path.startsWith(x.spec.directory + sep) || path === x.spec.directory) &&
          x.match(toRel(x.spec.directory, path)),
      );
      if (m) void this.onFile(path, m.spec);
    };
    w.on('add', handle);
    w.on('change', handle);
    w.on('unlink', handle);
    w.on('error', (err) => this.logger.warn({ err: String(err) }, 'file watching failed; periodic scans continue'));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    this.watcher = w;
  }

  /** Stops watching. */
  async close(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
  }
}

function toRel(base: string, path: string): string {
  return relative(base, path).split(sep).join('/');
}
